"""One `lmroute train` run on synthetic data with MLflow tracking, shared by the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmroute_cli import main as lmroute

FAST = ["experiment=synthetic_small", "data.synthetic_tuples=3000", "export.exporter=legacy",
        "export.int8=false", "policy.epochs=3", "trainer.threads=1"]


@dataclass
class CliRun:
    runs_dir: Path
    out_dir: Path
    summary: dict


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    runs = tmp_path_factory.mktemp("runs")
    out = runs / "router"
    argv = ["train", *FAST, "logger=mlflow", f"runs_dir={runs}", f"export.out_dir={out}"]
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert lmroute(argv) == 0
    text = buf.getvalue()
    return CliRun(runs, out, json.loads(text[text.index("{"):]))
