"""The in-graph decision equals the numpy reference (reward.utility + argmax_utility)."""

from __future__ import annotations

import numpy as np
import torch

from router_model.graph import DecisionHead
from router_model.policies.base import Predictions, argmax_utility
from router_model.reward import NEG_INF, UTIL_FLOOR, RewardWeights, utility


def test_decision_head_matches_numpy_reference(rng: np.random.Generator) -> None:
    n, m = 500, 6
    q, c = rng.random((n, m)), rng.random((n, m)) * 1e-2
    lat, e = rng.random((n, m)) * 3000, rng.random((n, m)) * 100
    mask = rng.random((n, m)) < 0.7
    mask[np.arange(n), rng.integers(0, m, n)] = True
    head = DecisionHead()
    for w in (RewardWeights(), RewardWeights(w_cost=50, w_latency=1e-4),
              RewardWeights(w_energy=1e-3, max_latency_ms=1500),
              RewardWeights(w_cost=10, max_cost_usd=1e-4)):  # mostly infeasible -> fallback
        ws = np.tile(w.as_array(), (n, 1))
        t = [torch.tensor(a, dtype=torch.float32) for a in (q, c, lat, e)]
        util, choice = head(*t, torch.from_numpy(ws), torch.from_numpy(mask))
        want = argmax_utility(Predictions(q, c, lat, e), w, mask)
        assert (choice.numpy() == want).mean() > 0.999  # float32 vs float64 near-ties
        ref = utility(q, c, lat, e, w, mask)
        feasible = (ref > NEG_INF).any(axis=1)
        np.testing.assert_allclose(util.numpy()[feasible], np.maximum(ref, NEG_INF)[feasible],
                                   rtol=1e-5, atol=1e-5)


def test_excluded_models_are_never_chosen(rng: np.random.Generator) -> None:
    n, m = 200, 4
    q = torch.rand(n, m)
    zeros = torch.zeros(n, m)
    mask = torch.zeros(n, m, dtype=torch.bool)
    mask[:, 2] = True
    _, choice = DecisionHead()(q, zeros, zeros, zeros, torch.zeros(n, 5), mask)
    assert (choice == 2).all()


def test_no_weight_makes_an_excluded_model_win(rng: np.random.Generator) -> None:
    """Weights far past RewardWeights' cap (the graph takes raw arrays) sink every allowed
    utility, but only to UTIL_FLOOR, still above the NEG_INF of excluded models."""
    n, m = 200, 5
    q, c = torch.rand(n, m), torch.rand(n, m) + 0.1
    mask = torch.rand(n, m) < 0.5
    mask[:, 0] = False  # the excluded model ...
    c[:, 0] = 0.0  # ... is the only one the huge cost weight would not sink
    mask[torch.arange(n), torch.randint(1, m, (n,))] = True
    for w_cost in (1e20, 1e36, 3e38):
        w = torch.zeros(n, 5)
        w[:, 0], w[:, 3:] = w_cost, 3e38
        util, choice = DecisionHead()(q, c, torch.zeros(n, m), torch.zeros(n, m), w, mask)
        assert mask[torch.arange(n), choice].all()
        assert (util[mask] >= UTIL_FLOOR).all() and (util[~mask] == NEG_INF).all()
    ref = utility(q.numpy(), c.numpy(), np.zeros((n, m)), np.zeros((n, m)),
                  RewardWeights(w_cost=1e12), mask.numpy())
    assert (ref[mask.numpy()] >= UTIL_FLOOR).all()
