"""Epsilon-greedy propensities are exact and match sampling frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from router_model.load_adjust import load_adjusted
from router_model.policies.base import Predictions, argmax_utility
from router_model.policies.explore import (
    epsilon_greedy_draw,
    epsilon_greedy_probs,
    sample_with_propensity,
)
from router_model.reward import RewardWeights


def test_probabilities_follow_the_contract() -> None:
    allowed = np.array([[True, True, True, False], [False, True, False, False]])
    p = epsilon_greedy_probs(np.array([0, 1]), allowed, 0.2)
    np.testing.assert_allclose(p[0], [1 - 0.2 + 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.0])
    np.testing.assert_allclose(p[1], [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_sampling_frequencies_match_propensities() -> None:
    rng = np.random.default_rng(0)
    p = epsilon_greedy_probs(np.array([2]), np.ones((1, 5), bool), 0.5)[0]
    draws = [sample_with_propensity(p, rng) for _ in range(20000)]
    freq = np.bincount([a for a, _ in draws], minlength=5) / len(draws)
    np.testing.assert_allclose(freq, p, atol=0.015)
    assert all(prop == pytest.approx(p[a]) for a, prop in draws[:100])


@pytest.mark.parametrize("eps", [-0.1, 1.1, float("nan")])
def test_bad_epsilon(eps: float) -> None:
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_greedy_probs(np.array([0]), np.ones((1, 2), bool), eps)


@pytest.mark.parametrize("eps", [0.05, 0.5, 1.0])
def test_scalar_draw_is_epsilon_greedy_probs(eps: float) -> None:
    """The hot path's scalar draw: over a fine grid of u, each model is drawn with the
    probability epsilon_greedy_probs gives it, and reports exactly that propensity."""
    allowed = np.array([[True, False, True, True, False]])
    allowed_idx = [0, 2, 3]
    want = epsilon_greedy_probs(np.array([2]), allowed, eps)[0]
    grid = (np.arange(20_000) + 0.5) / 20_000
    draws = [epsilon_greedy_draw(2, allowed_idx, eps, float(u)) for u in grid]
    share = np.bincount([a for a, _ in draws], minlength=5) / len(grid)
    np.testing.assert_allclose(share, want, atol=1e-3)
    assert all(p == pytest.approx(want[a]) for a, p in draws)


def test_load_adjusted_with_zero_offsets_is_argmax_utility() -> None:
    rng = np.random.default_rng(0)
    for limit in (np.inf, 500.0, 0.0):  # no limit, some over it, all over it (fallback)
        q, c = rng.random((1, 6)), rng.random((1, 6)) * 1e-3
        lat, e = rng.random((1, 6)) * 1000, rng.random((1, 6)) * 10
        q, c, lat, e = (x.astype(np.float32) for x in (q, c, lat, e))
        w = RewardWeights(w_cost=50.0, w_latency=1e-4, max_latency_ms=limit)
        mask = np.array([[True, True, False, True, True, False]])
        adj = load_adjusted(q, c, lat, e, np.zeros(6, np.float32), w, mask)
        assert adj.greedy == int(argmax_utility(Predictions(q, c, lat, e), w, mask)[0])
        assert mask[0, adj.greedy] and adj.fallback == (limit == 0.0)
