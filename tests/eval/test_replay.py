"""Replay on a hand-made full-information log."""

from __future__ import annotations

import numpy as np
import pytest

from data.matrix import FullInfo
from eval.bootstrap import Bootstrap
from eval.replay import curve_means, drop_incomplete, realised, summarize
from router_model.reward import RewardWeights


def _full() -> FullInfo:
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, np.nan]])
    c = np.array([[2.0, 1.0], [2.0, 1.0], [2.0, 1.0]])
    return FullInfo(
        np.array(["a", "b", "c"]),
        np.array(["x", "y", "z"]),
        np.array(["t", "t", "u"], dtype=object),
        ["m0", "m1"],
        q,
        c,
        np.full((3, 2), 10.0),
        np.full((3, 2), 3.0),
    )


def test_realised_outcomes_and_utility() -> None:
    full, n_drop = drop_incomplete(_full())
    assert n_drop == 1 and len(full) == 2
    out = realised(full, np.array([0, 1]), RewardWeights(w_cost=0.1, w_latency=0.01))
    np.testing.assert_allclose(out.quality, [1, 1])
    np.testing.assert_allclose(out.cost_usd, [2, 1])
    np.testing.assert_allclose(out.utility, [1 - 0.2 - 0.1, 1 - 0.1 - 0.1])
    with pytest.raises(ValueError, match="choice"):
        realised(full, np.array([0]), RewardWeights())


def test_summarize_stats_and_share() -> None:
    full, _ = drop_incomplete(_full())
    outs = {
        "p": realised(full, np.array([0, 0]), RewardWeights()),
        "q": realised(full, np.array([0, 1]), RewardWeights()),
    }
    s = summarize(outs, full.models, Bootstrap(2, n_boot=100, seed=0))
    assert s["p"].stats["quality"].mean == 0.5 and s["q"].stats["quality"].mean == 1.0
    assert s["p"].share == {"m0": 1.0, "m1": 0.0}
    assert s["q"].stats["cost_usd"].p50 == 1.5
    assert s["q"].stats["quality"].ci_low == s["q"].stats["quality"].ci_high == 1.0


def test_curve_means() -> None:
    full, _ = drop_incomplete(_full())
    cost, qual = curve_means(full, np.array([[0, 0], [1, 1], [0, 1]]))
    np.testing.assert_allclose(cost, [2, 1, 1.5])
    np.testing.assert_allclose(qual, [0.5, 0.5, 1.0])
