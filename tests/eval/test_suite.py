"""A small version of ``lmroute eval suite`` on the real data (the full run: docs/routing.md).

Every dataset, 2 splits of a stratified sample, a tiny router, the static features for the
baselines (no MiniLM pass), the cascade on RouterBench: every figure is produced for every
method, the oracle bounds them, and the report is written. Runs in the default suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.suite.report import write_report
from eval.suite.run import SuiteSettings, run_suite
from eval.suite.variants import router_specs
from router_model.policies.supervised import SupervisedPolicy

pytestmark = pytest.mark.integration


def _tiny(**kw: object) -> SupervisedPolicy:
    return SupervisedPolicy(hidden=16, epochs=4, n_ensemble=1, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def small_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    s = SuiteSettings(shared=shared_data, n_splits=2, max_requests=160,
                      baselines=("best_single", "task_prior", "knn_shrunk"),
                      baseline_features="static", n_boot=40, n_points=12,
                      onboard_model="")
    res = run_suite(s, router_specs(_tiny, []))
    out = write_report(res, tmp_path_factory.mktemp("suite"))
    return res, out


def test_every_dataset_figure_and_method_over_every_split(small_run) -> None:  # type: ignore[no-untyped-def]
    res, _ = small_run
    want = {"routerbench": {"all": ("aiq", "gap_closed", "cost_at_95", "accuracy")},
            "routellm": {"mmlu": ("apgr", "cpt50"), "gsm8k": ("apgr", "cpt80")},
            "dcrouter": {"all": ("accuracy", "aiq")}}
    for ds, groups in want.items():
        for g, figs in groups.items():
            for fig in figs:
                meths = res.figures[ds][g][fig]
                assert {"router", "task_prior", "knn_shrunk", "oracle"} <= set(meths)
                assert all(len(v) == 2 for v in meths.values())
    aiq = res.figures["routerbench"]["all"]["aiq"]
    assert "cascade" in aiq
    for k in range(2):  # the oracle bounds every method; the zero router closes no gap
        assert all(aiq["oracle"][k].value >= v[k].value - 1e-9 for v in aiq.values())
        assert res.figures["routerbench"]["all"]["gap_closed"]["zero_router"][k].value == 0
    assert len(res.cascade) == 2 and 0.0 <= res.cascade[0]["auc"] <= 1.0


def test_report_files_and_headline(small_run) -> None:  # type: ignore[no-untyped-def]
    _, out = small_run
    summary = json.loads(out.json.read_text())
    assert set(summary["headline"]) == {"routerbench/all", "routellm/mmlu", "routellm/gsm8k",
                                        "dcrouter/all"}
    assert out.html.read_text().count("<img") >= 4
    rb = summary["results"]["routerbench/all"]
    d = rb["diffs"]["aiq"]["router"]["task_prior"]
    assert d["ci_low"] <= d["mean"] <= d["ci_high"]
    assert np.isfinite(rb["figures"]["aiq"]["router"]["mean"])
