"""``lmroute eval`` with a real exported artifact on real held-out data. Skipped unless
both exist: ``$LMROUTE_EVAL_ROUTER`` or ``runs/demo/router`` (written by ``make demo``)
and the demo's held-out split ``runs/demo/splits/test.parquet`` (or ``$LMROUTE_EVAL_LOG``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval import cli

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_cli_on_real_artifact(tmp_path: Path) -> None:
    router = Path(os.environ.get("LMROUTE_EVAL_ROUTER", ROOT / "runs/demo/router"))
    log = Path(os.environ.get("LMROUTE_EVAL_LOG", ROOT / "runs/demo/splits/test.parquet"))
    if not (router / "router.onnx").is_file() or not log.is_file():
        pytest.skip(f"needs a router artifact at {router} and a held-out log at {log}")
    code = cli.main(
        [
            f"router={router}",
            f"test_log={log}",
            f"out_dir={tmp_path}",
            "logger=none",
            "max_requests=120",
            "bootstrap.n_boot=100",
            "curve.n_points=10",
            "latency_samples=10",
            "baselines.names=[random,cheapest,oracle]",
        ]
    )
    assert code == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert (
        m["n_requests"] == 120
        and m["models"] == json.loads((router / "manifest.json").read_text())["models"]
    )
    # contract (docs/contracts.md): the graph's choice is the argmax of the linear utility
    # of its own predictions, so the sweep shortcut must reproduce it
    assert m["router"]["curve_linear_agreement"] >= 0.995
    assert m["router"]["decision_us"]["n"] == 10
    assert m["baselines"]["oracle"]["aiq"] >= m["router"]["aiq"]
