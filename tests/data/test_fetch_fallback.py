"""``make demo``'s data resolution: shared -> fetched copy -> fetch -> synthetic (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import locate
from scripts.demo import resolve_demo_data
from tests.data.test_fetch_helpers import Route, closed_port, entry, file_server, write_manifest

CSV = b"sample_id,prompt\n1,hello\n"


@pytest.fixture()
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $LMROUTE_SHARED_DATA folder, no ../shared/data, an empty cache; returns the cache."""
    monkeypatch.setenv("LMROUTE_SHARED_DATA", str(tmp_path / "absent"))
    monkeypatch.setattr(locate, "REPO_ROOT", tmp_path / "clone")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "lmroute" / "data"


def test_offline_falls_back_to_synthetic_in_one_line(
    nowhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"  # nothing listens: connection refused
    m = write_manifest(
        tmp_path, [entry(f"routerbench/{n}.csv", CSV, [f"{base}/{n}.csv"]) for n in ("a", "b", "c")]
    )
    data = resolve_demo_data(m)
    assert data.synthetic and data.root is None and data.experiment == "synthetic_small"
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1, out
    assert out[0].startswith("network unreachable; running the demo on SYNTHETIC data")
    assert "`lmroute data fetch`" in out[0]
    assert list(nowhere.rglob("*")) == []  # not even an empty routerbench/ folder


def test_fetch_then_reuse_the_fetched_copy(nowhere: Path, tmp_path: Path) -> None:
    with file_server() as srv:
        srv.routes["/a.csv"] = Route(CSV)
        m = write_manifest(tmp_path, [entry("routerbench/a.csv", CSV, [srv.url("/a.csv")])])
        first = resolve_demo_data(m)
        assert first.kind == "fetched" and first.root == nowhere
        assert (nowhere / "routerbench/a.csv").read_bytes() == CSV
        second = resolve_demo_data(m)
        assert second.kind == "fetched" and srv.hits["/a.csv"] == 1


def test_server_failure_is_synthetic_with_the_reason(
    nowhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with file_server() as srv:
        srv.routes["/a.csv"] = Route(b"", status=500)
        m = write_manifest(tmp_path, [entry("routerbench/a.csv", CSV, [srv.url("/a.csv")])])
        data = resolve_demo_data(m)
    assert data.synthetic
    line = capsys.readouterr().out.strip()
    assert line.startswith("1 file(s) failed to fetch: HTTP 500") and "SYNTHETIC" in line


def test_shared_folder_wins_without_any_network(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine" / "routerbench").mkdir(parents=True)
    monkeypatch.setenv("LMROUTE_SHARED_DATA", str(tmp_path / "mine"))
    m = write_manifest(tmp_path, [entry("routerbench/a.csv", CSV, ["http://127.0.0.1:9/a"])])
    data = resolve_demo_data(m)
    assert data.kind == "shared" and data.root == tmp_path / "mine"
