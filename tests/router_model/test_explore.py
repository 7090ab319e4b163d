"""Epsilon-greedy propensities are exact and match sampling frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from router_model.policies.explore import epsilon_greedy_probs, sample_with_propensity


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
