"""``lmroute eval`` end to end on synthetic canonical logs with a stand-in router."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data.io import write_parquet
from data.matrix import FullInfo
from data.simulate import LoggingPolicy, simulate_frame
from data.synthetic import make_synthetic
from eval import cli, pipeline
from eval.summary import summary_text
from tests.eval.fake_router import FakeRouter


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("logs")
    frame = make_synthetic(900, models=3, seed=0).frame
    rids = frame["request_id"].unique()
    train = frame[frame["request_id"].isin(rids[:600])]
    test = frame[frame["request_id"].isin(rids[600:])]
    bandit, _ = simulate_frame(test, LoggingPolicy("epsilon_greedy", epsilon=0.3), seed=0)
    full_train = FullInfo.from_frame(train)
    routers = {
        "fake-knn": FakeRouter(full_train, "knn", k=10),
        "fake-cheap": FakeRouter(full_train, "cheapest"),
    }
    return {
        "train": write_parquet(train, d / "train.parquet"),
        "test": write_parquet(test, d / "test.parquet"),
        "bandit": write_parquet(bandit, d / "bandit.parquet"),
        "routers": routers,
    }


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, logs: dict[str, Any]) -> None:
    def load(path: str, what: str) -> FakeRouter:
        if path not in logs["routers"]:
            raise pipeline.EvalInputError(f"{what}: {path} is not a router artifact directory")
        return logs["routers"][path]

    monkeypatch.setattr(pipeline, "load_router", load)


def _eval(logs: dict[str, Any], out: Path, *extra: str, test: str = "test") -> int:
    return cli.main(
        [
            "router=fake-knn",
            f"test_log={logs[test]}",
            f"train_log={logs['train']}",
            f"out_dir={out}",
            "logger=none",
            "bootstrap.n_boot=200",
            "curve.n_points=12",
            "latency_samples=20",
            *extra,
        ]
    )


def test_full_info_run_writes_everything(
    logs: dict[str, Any], fake: None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _eval(logs, tmp_path) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n_requests"] == 300 and m["log_kind"] == "full_info"
    assert {"random", "cheapest", "knn", "task_prior", "oracle"} <= set(m["baselines"])
    assert m["router"]["aiq"] is not None and len(m["router"]["curve"]) == 12
    assert m["router"]["decision_us"]["n"] == 20
    assert set(m["slices"]) == set(pd.read_parquet(logs["test"])["task"].unique())
    for f in ("report.md", "report.html", "cost_quality.png", "per_task.png", "utility.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()
    out = capsys.readouterr().out
    assert "router" in out and "AIQ" in out and "report:" in out
    assert summary_text(tmp_path / "metrics.json").splitlines()[1].strip().startswith("router")


def test_gate_exit_codes(
    logs: dict[str, Any], fake: None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # knn beats always-cheapest on utility at w = 0 (quality only)
    assert _eval(logs, tmp_path / "a", "baseline_router=fake-cheap") == 0
    assert "gate: PASS" in capsys.readouterr().out
    assert _eval(logs, tmp_path / "b", "baseline_router=fake-cheap", "gate_margin=0.9") == 1
    assert "gate: FAIL" in capsys.readouterr().out
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m["gate"]["passed"] is False and "baseline_router" in m["baselines"]


def test_bandit_log_gets_ope(logs: dict[str, Any], fake: None, tmp_path: Path) -> None:
    assert _eval(logs, tmp_path, test="bandit") == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["log_kind"] == "bandit"
    for est in ("dm", "ips", "snips", "dr"):
        o = m["ope"][est]
        assert o["ci_low"] <= o["mean"] <= o["ci_high"]
    assert "knn" in m["baselines"] and (tmp_path / "ope.png").is_file()
    # the gate on a bandit log compares per-round doubly robust terms
    code = _eval(logs, tmp_path / "g", "baseline_router=fake-cheap", test="bandit")
    g = json.loads((tmp_path / "g" / "metrics.json").read_text())["gate"]
    assert code == (0 if g["passed"] else 1) and g["diff_mean"] > 0


def test_bad_input_exit_2(
    logs: dict[str, Any], fake: None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli.main([f"test_log={logs['test']}", "logger=none", f"out_dir={tmp_path}"]) == 2
    assert "router: required" in capsys.readouterr().err
    assert _eval(logs, tmp_path, "router=nope") == 2
    assert "not a router artifact" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "router=fake-knn",
                f"test_log={tmp_path / 'missing.parquet'}",
                "logger=none",
                f"out_dir={tmp_path}",
            ]
        )
        == 2
    )
    assert "test_log" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "router=fake-knn",
                f"test_log={logs['test']}",
                "logger._target_=train.tracking.Nowhere",
                f"out_dir={tmp_path}",
            ]
        )
        == 2
    )
    assert "logger._target_" in capsys.readouterr().err
    bad = pd.read_parquet(logs["test"])
    bad.loc[7, "quality"] = 1.5
    bad.to_parquet(tmp_path / "bad.parquet")
    assert _eval(logs, tmp_path, f"test_log={tmp_path / 'bad.parquet'}") == 2
    assert "column quality (range): expected in [0, 1]" in capsys.readouterr().err
    assert (
        cli.main(
            ["router=fake-knn", f"test_log={logs['test']}", "nosuchkey=1", f"out_dir={tmp_path}"]
        )
        == 2
    )


@pytest.mark.integration  # creating the MLflow SQLite store takes ~10-30 s on 2 shared cores
def test_mlflow_logging(logs: dict[str, Any], fake: None, tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    assert (
        cli.main(
            [
                "router=fake-knn",
                f"test_log={logs['test']}",
                f"out_dir={tmp_path}",
                "bootstrap.n_boot=50",
                "curve.n_points=5",
                "latency_samples=0",
                "baselines.names=[random,oracle]",
            ]
        )
        == 0
    )
    assert (tmp_path / "mlflow.db").is_file()
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["lmroute-eval"])
    assert len(runs) == 1 and np.isfinite(runs["metrics.router.aiq"].iloc[0])
