"""Evaluation functions on the real public data (skipped when ../shared/data is absent).

Features are hashed bag-of-words (``fake_router.embed``): no artifact needed; the
point is the metric machinery on real outcomes, not the router's quality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from data.convert import convert
from data.matrix import FullInfo
from data.simulate import LoggingPolicy, simulate_bandit
from eval.bandit import evaluate_bandit
from eval.candidates import Candidate, PolicyCandidate
from eval.full_info import EvalSettings, decide, evaluate
from eval.pipeline import w_cost_grid
from eval.replay import drop_incomplete, realised
from router_model.policies import make_policy
from router_model.reward import RewardWeights
from tests.eval.fake_router import embed

pytestmark = pytest.mark.integration


def _split(full: FullInfo, seed: int = 0) -> tuple[FullInfo, FullInfo]:
    perm = np.random.default_rng(seed).permutation(len(full))
    cut = int(0.7 * len(full))
    return full.subset(np.sort(perm[:cut])), full.subset(np.sort(perm[cut:]))


def _candidates(train: FullInfo, test: FullInfo) -> dict[str, Candidate]:
    Xtr, Xte = embed(list(train.queries)), embed(list(test.queries))
    out: dict[str, Candidate] = {}
    for name, kw in (("knn", {"k": 25}), ("task_prior", {}), ("random", {"seed": 0})):
        out[name] = PolicyCandidate(make_policy(name, **kw).fit(Xtr, train), Xte, test.tasks)
    out["oracle"] = PolicyCandidate(make_policy("oracle").fit(Xte, test), Xte, test.tasks)
    return out


def _run(full: FullInfo) -> tuple[dict[str, Any], FullInfo, dict[str, Candidate]]:
    train, test = _split(full)
    cands = _candidates(train, test)
    cands = {"router": cands["knn"], **cands}
    s = EvalSettings(RewardWeights(), w_cost_grid(test, 20, None, None), n_boot=300)
    return (
        evaluate(test, decide(cands, ["router", "task_prior", "oracle"], s, len(test)), s),
        test,
        cands,
    )


@pytest.fixture(scope="module")
def routerbench(shared_data: Path) -> FullInfo:
    return drop_incomplete(
        FullInfo.from_frame(convert("routerbench", [shared_data / "routerbench"]).frame)
    )[0]


def test_routerbench_side_by_side(routerbench: FullInfo) -> None:
    m, test, _ = _run(routerbench)
    assert m["reference"]["model"] == "gpt-4-1106-preview"
    assert set(m["slices"]) == {"arc-challenge", "mbpp", "winogrande"}
    b = m["baselines"]
    assert b["oracle"]["aiq"] > max(b["task_prior"]["aiq"], m["zero_router"]["aiq"])
    assert b["fixed:gpt-4-1106-preview"]["quality"]["mean"] == pytest.approx(
        np.mean(test.quality[:, test.models.index("gpt-4-1106-preview")])
    )
    for p in (m["router"], *b.values()):
        assert p["utility"]["ci_low"] <= p["utility"]["mean"] <= p["utility"]["ci_high"]
    assert m["zero_router"]["cost_at_95pct_best"]["fraction"] <= 1.0


def test_routerbench_ope_matches_replay(routerbench: FullInfo) -> None:
    """Bandit log simulated by data.simulate over all ~2,200 requests (uniform logger,
    p = 1/11); candidates fitted on a 70% split (a policy that depends on x only, so OPE
    on the full log stays unbiased). DR of each candidate within 0.05 of the replayed
    truth (about one half-width of its 95% CI with this weak hashed-BOW reward model),
    and the truth inside DR's CI."""
    train, _ = _split(routerbench)
    test = routerbench
    cands = _candidates(train, test)
    blog = simulate_bandit(test, LoggingPolicy("uniform"), np.random.default_rng(0))
    s = EvalSettings(RewardWeights(w_cost=20.0), (0.0,), n_boot=400)
    ope_cands = {"router": cands["task_prior"], "knn": cands["knn"]}
    out = evaluate_bandit(blog, embed(list(test.queries)), ope_cands, s)
    for name, ope in (("router", out["ope"]), ("knn", out["baselines"]["knn"]["ope"])):
        truth = realised(test, ope_cands[name].choose(s.weights), s.weights).utility.mean()
        assert abs(ope["dr"]["mean"] - truth) <= 0.05, (name, ope["dr"], truth)
        assert ope["dr"]["ci_low"] <= truth <= ope["dr"]["ci_high"], (name, ope["dr"], truth)


def test_routellm_two_model_apgr(shared_data: Path) -> None:
    full, _ = drop_incomplete(
        FullInfo.from_frame(convert("routellm", [shared_data / "routellm" / "gsm8k"]).frame)
    )
    m, _, _ = _run(full)
    tm = m["two_model"]
    assert tm["strong"] == "gpt-4-1106-preview"
    assert tm["oracle"]["apgr"] > tm["router"]["apgr"] > 0.3
    assert tm["oracle"]["cpt_50"] < 0.5
