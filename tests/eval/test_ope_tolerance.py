"""Off-policy estimates against the truth: a bandit log simulated from full-information
data (epsilon-greedy logger, exact propensities); the candidate's true value comes from
replay on the same requests. Stated tolerance: |DR - truth| <= 0.03 utility (about 2
bootstrap standard errors at n = 4000) and the truth inside DR's 95% interval."""

from __future__ import annotations

import pytest

from eval.bandit import evaluate_bandit
from eval.candidates import PolicyCandidate
from eval.full_info import EvalSettings
from eval.replay import realised
from router_model.policies import baselines as _baselines  # noqa: F401  (registers)
from router_model.policies import make_policy
from router_model.reward import RewardWeights
from tests.eval.world import World, make_world, simulate_bandit

TOL = 0.03


@pytest.fixture(scope="module")
def setup(train_world: World) -> tuple[World, dict[str, PolicyCandidate], EvalSettings]:
    test = make_world(4000, seed=7)
    knn = make_policy("knn", k=15).fit(train_world.X, train_world.full)
    prior = make_policy("task_prior").fit(train_world.X, train_world.full)
    cands = {
        "router": PolicyCandidate(knn, test.X, test.full.tasks),
        "task_prior": PolicyCandidate(prior, test.X, test.full.tasks),
    }
    return test, cands, EvalSettings(RewardWeights(w_cost=20.0), (0.0,), n_boot=300, seed=0)


def test_dr_within_tolerance_of_replay(setup: tuple) -> None:
    test, cands, s = setup
    blog = simulate_bandit(test.full, seed=11)
    out = evaluate_bandit(blog, test.X, cands, s)
    for name, ope in [
        ("router", out["ope"]),
        ("task_prior", out["baselines"]["task_prior"]["ope"]),
    ]:
        truth = realised(test.full, cands[name].choose(s.weights), s.weights).utility.mean()
        dr = ope["dr"]
        assert abs(dr["mean"] - truth) <= TOL, (name, dr, truth)
        assert dr["ci_low"] <= truth <= dr["ci_high"], (name, dr, truth)
        for est in ("ips", "snips"):
            assert abs(ope[est]["mean"] - truth) <= 2 * TOL, (name, est, ope[est], truth)
    assert out["log_kind"] == "bandit" and out["n_requests"] == 4000
    assert set(out["slices"]) == {"easy", "hard"}
    assert out["ope"]["ess"] > 0 and out["ope"]["min_propensity"] == pytest.approx(0.1)
