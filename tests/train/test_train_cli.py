"""`lmroute train`: artifact, MLflow tracking, config errors, multirun."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lmroute_cli import main as lmroute
from router_model.runtime import Router
from tests.train.conftest import FAST


def test_train_writes_a_loadable_artifact(cli_run) -> None:
    for name in ("router.onnx", "manifest.json", "tokenizer.json"):
        assert (cli_run.out_dir / name).is_file()
    router = Router.load(cli_run.out_dir)
    assert len(router.models) == 10
    assert router.route("what is the integral of x squared").model in router.models
    m = json.loads((cli_run.out_dir / "manifest.json").read_text())
    assert m["policy"]["name"] == "supervised" and m["train_data_sha256"]
    assert "val_auc_quality" in m["metrics"] and "baseline_knn_auc_quality" in m["metrics"]
    assert cli_run.summary["parity_choice_agreement"] == 1.0


def test_mlflow_records_params_metrics_artifacts_and_version(cli_run) -> None:
    db = cli_run.runs_dir / "mlflow.db"
    assert db.is_file()
    con = sqlite3.connect(db)
    params = dict(con.execute("select key, value from params").fetchall())
    assert params["policy.epochs"] == "3"
    assert params["data._target_"] == "train.data_sources.SyntheticSource"
    steps = con.execute("select count(*) from metrics where key like 'train_loss_m0'").fetchone()
    assert steps[0] == 3  # one point per epoch
    assert con.execute("select count(*) from metrics where key='val_auc_quality'").fetchone()[0]
    versions = con.execute("select name, version from model_versions").fetchall()
    assert ("lmroute-router", 1) in versions
    arts = list((cli_run.runs_dir / "mlartifacts").rglob("router.onnx"))
    assert arts, "the ONNX file is logged as an artifact"


@pytest.mark.parametrize("override,needle", [
    ("data._target_=train.data_sources.Nowhere", "Nowhere"),
    ("featurizer._target_=router_model.featurizer_spec.Bert", "Bert"),
    ("logger._target_=train.tracking.Nowhere", "Nowhere"),
    ("data.val_fraction=1.5", "val_fraction"),
])
def test_bad_config_value_exits_2(tmp_path: Path, capsys, override: str, needle: str) -> None:
    argv = ["train", *FAST, "logger=none", f"runs_dir={tmp_path}",
            f"export.out_dir={tmp_path / 'r'}", override]
    assert lmroute(argv) == 2
    assert needle in capsys.readouterr().err


def test_schema_rejects_wrong_types_and_missing(tmp_path: Path) -> None:
    base = ["train", *FAST, "logger=none", f"runs_dir={tmp_path}"]
    assert lmroute([*base, "policy.epochs=many"]) == 2
    assert lmroute([*base, "data=logs"]) == 2  # data.paths is required (???)


def test_multirun_sweep(tmp_path: Path) -> None:
    argv = ["train", "-m", *FAST, "logger=none", f"runs_dir={tmp_path}",
            "data.synthetic_tuples=1000", "policy.hidden=8,16"]
    assert lmroute(argv) == 0
    outs = sorted(tmp_path.glob("multirun/*/*/router/manifest.json"))
    assert len(outs) == 2
    hidden = sorted(json.loads(p.read_text())["policy"]["params"]["hidden"] for p in outs)
    assert hidden == [8, 16]
