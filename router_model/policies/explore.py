"""Exploration for live traffic, with exact propensities for off-policy learning.

Epsilon-greedy over the allowed models: with K allowed models and greedy choice g,
p(g) = 1 - eps + eps / K and p(m) = eps / K for every other allowed model (0 for the
excluded ones). ``EpsilonGreedyPolicy`` wraps any fitted policy with this rule.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.reward import RewardWeights


def check_epsilon(epsilon: float) -> float:
    """Validate epsilon in [0, 1] (NaN rejected)."""
    if not isinstance(epsilon, int | float) or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon: expected a number in [0, 1], got {epsilon!r}")
    return float(epsilon)


def epsilon_greedy_probs(greedy: np.ndarray, allowed: np.ndarray, epsilon: float) -> np.ndarray:
    """Action probabilities.

    Args:
        greedy: (n,) int greedy choice per request (must be allowed).
        allowed: (n, M) bool; rows with no allowed model are treated as all allowed.
        epsilon: exploration rate in [0, 1].

    Returns:
        (n, M) float64, rows sum to 1.
    """
    eps = check_epsilon(epsilon)
    allowed = np.where(allowed.any(axis=1, keepdims=True), allowed, True)
    k = allowed.sum(axis=1, keepdims=True)
    p = np.where(allowed, eps / k, 0.0)
    p[np.arange(len(greedy)), greedy] += 1.0 - eps
    return p


def epsilon_greedy_draw(greedy: int, allowed_idx: list[int], epsilon: float,
                        u: float) -> tuple[int, float]:
    """One request's epsilon-greedy draw from a uniform ``u`` in [0, 1): the scalar form of
    ``epsilon_greedy_probs`` + sampling (eps/k for each of the k allowed models, plus
    1 - eps on ``greedy``), without numpy: the gateway's hot path (``Router.route``).

    Returns the chosen index and its exact probability.
    """
    k = len(allowed_idx)
    idx = greedy
    if u >= 1.0 - epsilon:
        idx = allowed_idx[min(int((u - (1.0 - epsilon)) / epsilon * k), k - 1)]
    return idx, epsilon / k + (1.0 - epsilon if idx == greedy else 0.0)


def sample_with_propensity(probs: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """Draw one action from probs (M,) -> (index, its exact probability)."""
    a = int(rng.choice(len(probs), p=probs / probs.sum()))
    return a, float(probs[a])


@register("epsilon_greedy")
class EpsilonGreedyPolicy(Policy):
    """Epsilon-greedy wrapper around a base policy (``base`` is fitted by ``fit``)."""

    def __init__(self, base: Policy, epsilon: float = 0.1, seed: int = 0) -> None:
        self.base = base
        self.epsilon = check_epsilon(epsilon)
        self.seed = seed

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        self.base.fit(X, log)
        self.models_ = list(self.base.models_)
        self.rng_ = np.random.default_rng(self.seed)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        return self.base.predict(X, tasks)

    def action_probs(self, X: np.ndarray, w: RewardWeights, mask: np.ndarray | None = None,
                     tasks: np.ndarray | None = None) -> np.ndarray:
        """(n, M) exact epsilon-greedy probabilities."""
        greedy = self.base.select(X, w, mask, tasks)
        allowed = np.ones((len(X), len(self.models_)), bool) if mask is None else \
            np.broadcast_to(mask, (len(X), len(self.models_)))
        return epsilon_greedy_probs(greedy, allowed, self.epsilon)

    def select(self, X: np.ndarray, w: RewardWeights, mask: np.ndarray | None = None,
               tasks: np.ndarray | None = None) -> np.ndarray:
        """(n,) sampled actions (stochastic; propensities from ``action_probs``)."""
        probs = self.action_probs(X, w, mask, tasks)
        return np.array([sample_with_propensity(p, self.rng_)[0] for p in probs], np.int64)
