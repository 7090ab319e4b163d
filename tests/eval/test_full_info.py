"""End-to-end full-information evaluation with a Policy stand-in for the router."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from eval.candidates import PolicyCandidate
from eval.full_info import EvalSettings, decide, evaluate
from router_model.policies import baselines as _baselines  # noqa: F401  (registers)
from router_model.policies import make_policy
from router_model.reward import RewardWeights
from tests.eval.world import World

GRID = (0.0, *np.logspace(0, 4, 12).tolist())


def _run(train: World, test: World, w: RewardWeights) -> dict[str, Any]:
    fit = {
        name: make_policy(name, **kw).fit(train.X, train.full)
        for name, kw in [
            ("knn", {"k": 15}),
            ("random", {"seed": 0}),
            ("cheapest", {}),
            ("task_prior", {}),
        ]
    }
    cands = {"router": PolicyCandidate(fit["knn"], test.X, test.full.tasks)}
    cands |= {k: PolicyCandidate(v, test.X, test.full.tasks) for k, v in fit.items()}
    oracle = make_policy("oracle").fit(test.X, test.full)
    cands["oracle"] = PolicyCandidate(oracle, test.X, test.full.tasks)
    s = EvalSettings(w, GRID, n_boot=200, seed=0)
    dec = decide(cands, ["router", "knn", "task_prior", "oracle"], s, len(test.full))
    return evaluate(test.full, dec, s)


@pytest.fixture(scope="module")
def metrics(train_world: World, test_world: World) -> dict[str, Any]:
    return _run(train_world, test_world, RewardWeights(w_cost=10.0))


def test_layout(metrics: dict[str, Any]) -> None:
    assert metrics["n_requests"] == 600
    for key in ("quality", "cost_usd", "latency_ms", "energy_j", "utility"):
        assert set(metrics["router"][key]) == {"mean", "ci_low", "ci_high", "p50", "p95"}
    assert {
        "random",
        "cheapest",
        "knn",
        "task_prior",
        "oracle",
        "fixed:small",
        "fixed:large",
    } <= set(metrics["baselines"])
    assert len(metrics["router"]["curve"]) == len(GRID)
    at = metrics["router"]["cost_at_95pct_best"]
    assert at["reference_model"] == "large" and at["target_quality"] == pytest.approx(
        0.95 * metrics["reference"]["quality"]
    )
    assert set(metrics["slices"]) == {"easy", "hard"}
    assert sum(s["n_requests"] for s in metrics["slices"].values()) == 600


def test_figures_consistent(metrics: dict[str, Any], test_world: World) -> None:
    b = metrics["baselines"]
    q = test_world.full.quality.mean(axis=0)
    assert b["fixed:medium"]["quality"]["mean"] == pytest.approx(q[1])
    assert b["cheapest"]["share"]["small"] == 1.0
    # the stand-in router IS knn: identical decisions
    assert metrics["router"]["utility"]["mean"] == b["knn"]["utility"]["mean"]
    # the oracle maximises true utility per request: nobody beats it
    best = b["oracle"]["utility"]["mean"]
    for name, pol in b.items():
        assert pol["utility"]["mean"] <= best + 1e-12, name
    assert b["oracle"]["aiq"] >= metrics["router"]["aiq"] >= metrics["zero_router"]["aiq"] - 0.05
    r = metrics["router"]
    assert r["utility"]["ci_low"] <= r["utility"]["mean"] <= r["utility"]["ci_high"]


def test_two_model_block(train_world: World, test_world: World) -> None:
    def two(w: World) -> World:
        f = w.full
        sub = type(f)(
            f.request_ids,
            f.queries,
            f.tasks,
            ["small", "large"],
            f.quality[:, [0, 2]],
            f.cost_usd[:, [0, 2]],
            f.latency_ms[:, [0, 2]],
            f.energy_j[:, [0, 2]],
        )
        return World(w.X, sub)

    m = _run(two(train_world), two(test_world), RewardWeights())
    tm = m["two_model"]
    assert tm["strong"] == "large" and tm["weak"] == "small"
    assert 0.5 < tm["oracle"]["apgr"] <= 1.5 and tm["router"]["cpt_50"] is not None
    assert tm["oracle"]["apgr"] >= tm["router"]["apgr"]


def test_aiq_intervals(metrics: dict[str, Any]) -> None:
    r = metrics["router"]
    lo, hi = r["aiq_ci"]
    assert lo <= r["aiq"] <= hi
    # the stand-in router IS knn: the paired difference is exactly 0 in every resample
    assert r["aiq_diff"]["knn"] == {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert r["aiq_diff"]["oracle"]["ci_high"] < 0  # the oracle's hull is far above
    assert metrics["zero_router"]["aiq_ci"][0] <= metrics["zero_router"]["aiq"]
    assert set(metrics["slices"]["easy"]["router"]["aiq_diff"]) >= {"knn", "zero_router"}


def test_aiq_replicates_constant_when_rows_identical(test_world: World) -> None:
    from eval.aiq_ci import aiq_replicates
    from eval.bootstrap import Bootstrap
    from eval.curves import aiq, nondecreasing_hull

    f = test_world.full.subset(np.zeros(5, dtype=int))  # five copies of one request
    ch = np.array([[0] * 5, [1] * 5, [2] * 5])  # three sweep points: each model
    reps = aiq_replicates(f, {"p": ch}, Bootstrap(5, n_boot=20, seed=0))
    c, q = f.cost_usd[0], f.quality[0]
    point = aiq(nondecreasing_hull(c, q), c.min(), c.max())
    np.testing.assert_allclose(reps["p"], point)
    np.testing.assert_allclose(reps["zero_router"], point)
