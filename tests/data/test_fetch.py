"""``lmroute data fetch`` against a real HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from data import cli
from data.fetch import fetch_all
from data.fetch_manifest import load_manifest
from tests.data.test_fetch_helpers import (
    FileServer,
    Route,
    closed_port,
    entry,
    file_server,
    write_manifest,
)

GOOD = b"prompt,a,b\n" + b"x,1,0\n" * 2000
OTHER = b'{"k": [1, 2, 3]}\n'


@pytest.fixture()
def srv() -> Iterator[FileServer]:
    with file_server() as s:
        s.routes["/good.csv"] = Route(GOOD)
        s.routes["/other.json"] = Route(OTHER)
        yield s


def leftovers(root: Path) -> list[str]:
    """Every file and folder under ``root`` (a temp ``.part`` file would show up here)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_good_files_land_in_layout_verified(srv: FileServer, tmp_path: Path) -> None:
    m = write_manifest(
        tmp_path,
        [
            entry("a/good.csv", GOOD, [srv.url("/good.csv")]),
            entry("b/c/other.json", OTHER, [srv.url("/other.json")]),
        ],
    )
    dest = tmp_path / "dest"
    report = fetch_all(load_manifest(m), dest)
    assert report.ok and report.count("downloaded") == 2
    assert (dest / "a/good.csv").read_bytes() == GOOD
    assert leftovers(dest) == ["a", "a/good.csv", "b", "b/c", "b/c/other.json"]


def test_second_run_downloads_nothing(srv: FileServer, tmp_path: Path) -> None:
    m = load_manifest(write_manifest(tmp_path, [entry("good.csv", GOOD, [srv.url("/good.csv")])]))
    dest = tmp_path / "dest"
    assert fetch_all(m, dest).count("downloaded") == 1
    again = fetch_all(m, dest)
    assert again.count("present") == 1 and again.count("downloaded") == 0
    assert srv.hits["/good.csv"] == 1


def test_truncated_response_fails_and_leaves_nothing(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/cut.csv"] = Route(GOOD, truncate_to=len(GOOD) // 3)
    m = load_manifest(write_manifest(tmp_path, [entry("x/cut.csv", GOOD, [srv.url("/cut.csv")])]))
    dest = tmp_path / "dest"
    report = fetch_all(m, dest)
    (bad,) = report.failed
    assert "broke off" in bad.message and not bad.network and "\n" not in bad.message
    assert leftovers(dest) == []


def test_wrong_checksum_fails_and_leaves_nothing(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/tampered.csv"] = Route(GOOD.replace(b"x,1,0", b"x,0,1", 1))  # same size
    m = load_manifest(write_manifest(tmp_path, [entry("t.csv", GOOD, [srv.url("/tampered.csv")])]))
    dest = tmp_path / "dest"
    (bad,) = fetch_all(m, dest).failed
    assert "SHA-256 mismatch" in bad.message
    assert hashlib.sha256(GOOD).hexdigest()[:16] in bad.message
    assert leftovers(dest) == []


def test_wrong_size_is_refused(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/longer.csv"] = Route(GOOD + b"extra,1,1\n")
    m = load_manifest(write_manifest(tmp_path, [entry("l.csv", GOOD, [srv.url("/longer.csv")])]))
    (bad,) = fetch_all(m, tmp_path / "dest").failed
    assert "more than the expected" in bad.message
    assert leftovers(tmp_path / "dest") == []


def test_server_error_is_one_line(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/boom"] = Route(b"oops", status=500)
    m = load_manifest(write_manifest(tmp_path, [entry("x.csv", GOOD, [srv.url("/boom")])]))
    (bad,) = fetch_all(m, tmp_path / "dest").failed
    assert bad.message.startswith("HTTP 500") and not bad.network


def test_mirror_used_when_first_url_fails(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/gone"] = Route(b"", status=404)
    urls = [srv.url("/gone"), srv.url("/good.csv")]
    report = fetch_all(
        load_manifest(write_manifest(tmp_path, [entry("g.csv", GOOD, urls)])), tmp_path / "dest"
    )
    assert report.ok and srv.hits["/gone"] == 1 and srv.hits["/good.csv"] == 1


def test_corrupt_existing_copy_is_replaced(srv: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "good.csv").write_bytes(b"half a file")
    m = load_manifest(write_manifest(tmp_path, [entry("good.csv", GOOD, [srv.url("/good.csv")])]))
    assert fetch_all(m, dest).count("downloaded") == 1
    assert (dest / "good.csv").read_bytes() == GOOD


def test_failed_download_keeps_the_previous_file(srv: FileServer, tmp_path: Path) -> None:
    """A corrupt download must not clobber what was there (rename only after verifying)."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "good.csv").write_bytes(b"old bytes")
    srv.routes["/cut.csv"] = Route(GOOD, truncate_to=100)
    m = load_manifest(write_manifest(tmp_path, [entry("good.csv", GOOD, [srv.url("/cut.csv")])]))
    assert len(fetch_all(m, dest).failed) == 1
    assert (dest / "good.csv").read_bytes() == b"old bytes" and leftovers(dest) == ["good.csv"]


def test_unreachable_host_is_network_and_tried_once(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    files = [entry(f"f{i}.csv", GOOD, [f"{base}/f{i}.csv"]) for i in range(5)]
    report = fetch_all(load_manifest(write_manifest(tmp_path, files)), tmp_path / "dest")
    assert len(report.failed) == 5 and report.network_unreachable
    assert leftovers(tmp_path / "dest") == []
    assert all("cannot reach 127.0.0.1" in r.message for r in report.failed)


def test_bad_url_on_a_reachable_host_is_not_network(srv: FileServer, tmp_path: Path) -> None:
    m = load_manifest(write_manifest(tmp_path, [entry("x.csv", GOOD, [srv.url("/missing")])]))
    report = fetch_all(m, tmp_path / "dest")
    assert not report.ok and not report.network_unreachable


def test_derived_file_rebuilt_from_inputs(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/old.csv"] = Route(b"prompt,old,b\nx,1,0\n")
    target = b"prompt,new,b\nx,1,0\n"
    e = entry("r.csv", target, [])
    e.update(
        kind="derived",
        inputs=[{"urls": [srv.url("/old.csv")]}],
        transform="replace_first_line",
        derived_from="header renamed",
        args={"expect": "prompt,old,b", "line": "prompt,new,b"},
    )
    del e["urls"]
    report = fetch_all(load_manifest(write_manifest(tmp_path, [e])), tmp_path / "dest")
    assert report.count("rebuilt") == 1 and (tmp_path / "dest/r.csv").read_bytes() == target


def test_derived_input_not_as_expected_fails_cleanly(srv: FileServer, tmp_path: Path) -> None:
    srv.routes["/old.csv"] = Route(b"something,else\n")
    e = entry("r.csv", b"prompt,new,b\n", [])
    e.update(
        kind="derived",
        inputs=[{"urls": [srv.url("/old.csv")]}],
        derived_from="-",
        transform="replace_first_line",
        args={"expect": "prompt,old,b", "line": "p"},
    )
    del e["urls"]
    (bad,) = fetch_all(load_manifest(write_manifest(tmp_path, [e])), tmp_path / "dest").failed
    assert "cannot rebuild with replace_first_line" in bad.message
    assert leftovers(tmp_path / "dest") == []


def unavailable(path: str) -> dict[str, object]:
    return {
        "path": path,
        "size": 3,
        "sha256": "0" * 64,
        "kind": "unavailable",
        "reason": "not public as is.",
        "action": "copy it from the team's folder.",
    }


def test_cli_exit_codes(
    srv: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_manifest(
        tmp_path, [entry("g.csv", GOOD, [srv.url("/good.csv")]), unavailable("u.csv")]
    )
    dest = tmp_path / "dest"
    assert cli.main(["fetch", "--manifest", str(good), "--to", str(dest)]) == 0
    err = capsys.readouterr().err
    assert "not fetchable: u.csv: not public as is. To get it: copy it" in err
    assert "1 downloaded" in err and "0 failed" in err
    assert cli.main(["fetch", "--manifest", str(good), "--to", str(dest)]) == 0
    assert "0 downloaded, 0 rebuilt, 1 present" in capsys.readouterr().err
    srv.routes["/bad"] = Route(b"", status=503)
    (tmp_path / "b").mkdir()
    bad = write_manifest(tmp_path / "b", [entry("x.csv", GOOD, [srv.url("/bad")])])
    assert cli.main(["fetch", "--manifest", str(bad), "--to", str(dest)]) == 1
    assert "failed: x.csv: HTTP 503" in capsys.readouterr().err


def test_cli_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.json").write_text('{"files": [{"path": "../x", "size": 1}]}')
    assert cli.main(["fetch", "--manifest", str(tmp_path / "m.json")]) == 2
    assert "must be relative" in capsys.readouterr().err
    afile = tmp_path / "plain"
    afile.write_text("x")
    ok = write_manifest(tmp_path, [unavailable("u.csv")])
    assert cli.main(["fetch", "--manifest", str(ok), "--to", str(afile)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert cli.main(["fetch", "--nope"]) == 2


def test_cli_verify(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/g.csv").write_bytes(GOOD)
    m = write_manifest(tmp_path, [entry("g.csv", GOOD, ["http://x/g.csv"])])
    assert cli.main(["fetch", "--manifest", str(m), "--verify", str(tmp_path / "d")]) == 0
    (tmp_path / "d/g.csv").write_bytes(GOOD[:-1] + b"!")
    assert cli.main(["fetch", "--manifest", str(m), "--verify", str(tmp_path / "d")]) == 1
