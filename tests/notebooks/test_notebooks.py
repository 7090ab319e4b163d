"""Execute both notebooks headless (nbclient) on a small slice of the real data.

Parameters reach the kernel through environment variables (see notebooks/make_notebooks.py).
02 needs a router artifact: ``$LMROUTE_NB_ROUTER`` or ``runs/demo/router`` (skipped when
neither exists, e.g. before ``make demo``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NB_DIR = ROOT / "notebooks"
pytestmark = pytest.mark.integration


def _run(name: str) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat not installed (dev extra)")
    nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (dev extra)")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors


@pytest.fixture(scope="module")
def slice_log(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The held-out split of the demo if present, else 150 converted RouterBench requests."""
    test_split = ROOT / "runs" / "demo" / "splits" / "test.parquet"
    if test_split.is_file():
        return test_split
    from data.convert import convert
    from data.io import write_parquet

    df = convert("routerbench", [shared_data / "routerbench"]).frame
    keep = df["request_id"].drop_duplicates().iloc[:150]
    return write_parquet(
        df[df["request_id"].isin(keep)], tmp_path_factory.mktemp("nb") / "slice.parquet"
    )


def test_explore_logs(slice_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMROUTE_NB_LOG", str(slice_log))
    monkeypatch.setenv("LMROUTE_NB_N", "150")
    _run("01_explore_logs.ipynb")


def test_evaluate_router(slice_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    router = Path(os.environ.get("LMROUTE_NB_ROUTER", ROOT / "runs" / "demo" / "router"))
    if not (router / "router.onnx").is_file():
        pytest.skip(f"no router artifact at {router} (run `make demo` or set LMROUTE_NB_ROUTER)")
    monkeypatch.setenv("LMROUTE_NB_ROUTER", str(router))
    monkeypatch.setenv("LMROUTE_NB_LOG", str(slice_log))
    monkeypatch.setenv("LMROUTE_NB_N", "120")
    _run("02_evaluate_router.ipynb")
