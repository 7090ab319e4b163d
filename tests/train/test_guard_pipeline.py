"""`lmroute guard train` end to end on the real guardrail files, shrunk to seconds: a
two-seed ensemble of the small net, one short epoch. It checks what the unit tests of the
parts cannot: that the pipeline writes a loadable artifact (fp32 + int8) whose manifest
records the ensemble, the thresholds chosen on validation and the parity it measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmroute_cli import main as lmroute
from router_model.guard.export import FP32, INT8
from router_model.guard.runtime import Guard

pytestmark = pytest.mark.integration

SHRUNK = ["guard_train/model@model=small", "trainer.epochs=1", "trainer.samples_per_epoch=256",
          "trainer.ensemble=2", "trainer.threads=1", "export.parity_samples=8",
          "model.ngram_weights=[0.0,1.0]", "logger=none"]


@pytest.fixture(scope="module")
def trained(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guard") / "g"
    code = lmroute(["guard", "train", *SHRUNK, f"export.out_dir={out}",
                    f"runs_dir={out.parent / 'runs'}"])
    assert code == 0
    return out


def test_pipeline_writes_a_loadable_ensemble_artifact(trained: Path) -> None:
    for name in (FP32, INT8, "manifest.json", "tokenizer.json"):
        assert (trained / name).is_file(), name
    m = json.loads((trained / "manifest.json").read_text())
    assert m["net"]["name"] == "GuardEnsemble" and m["net"]["members"] == 2
    assert [e["seed"] for e in m["metrics"]["ensemble"]] == [0, 1]
    assert max(m["metrics"]["parity"]["max_abs_diff"].values()) < 1e-4
    for cat in m["categories"]:  # every category has a threshold per operating point
        assert set(m["thresholds"][cat]) >= {"strict", "balanced", "permissive"}, cat
    for int8 in (False, True):
        guard = Guard.load(trained, int8=int8)
        verdict = guard.check("my card is 4111 1111 1111 1111, email me at a@example.com")
        assert {p.entity_type for p in verdict.pii} >= {"CREDIT_CARD", "EMAIL_ADDRESS"}
