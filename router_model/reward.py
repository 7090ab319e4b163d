"""Utility of a model for a request: quality minus weighted cost, latency and energy.

    u(m) = q(m) - w_cost * cost_usd(m) - w_latency * latency_ms(m) - w_energy * energy_j(m)

subject to hard limits (max latency, max cost, allowed models): a model that breaks
a limit gets utility -inf. If every model is excluded, the choice falls back to the
allowed model with the best utility ignoring the latency/cost limits (documented
default, never a crash).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NEG_INF = -1e30  # finite "minus infinity": survives float32 and ONNX arithmetic
# Largest trade-off weight: utilities must stay far above NEG_INF, or an excluded model
# (utility NEG_INF) would out-score every allowed one. 1e12 x (USD, ms, J of any real
# request) is < 1e20.
MAX_WEIGHT = 1e12
# Allowed utilities are floored here, above NEG_INF: the graph and ``utility`` both
# apply it, so an excluded model can never outrank an allowed one, whatever the weights.
UTIL_FLOOR = -1e29


@dataclass(frozen=True)
class RewardWeights:
    """Per-request trade-off. Units: USD, milliseconds, joules.

    ``max_latency_ms`` / ``max_cost_usd`` = inf means no limit.
    """

    w_cost: float = 0.0
    w_latency: float = 0.0
    w_energy: float = 0.0
    max_latency_ms: float = math.inf
    max_cost_usd: float = math.inf

    def __post_init__(self) -> None:
        for name in ("w_cost", "w_latency", "w_energy", "max_latency_ms", "max_cost_usd"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or math.isnan(v):
                raise ValueError(f"{name}: expected a number, got {v!r}")
            if v < 0:
                raise ValueError(f"{name}: expected >= 0, got {v}")
            if name.startswith("w_") and not v <= MAX_WEIGHT:
                raise ValueError(f"{name}: expected <= {MAX_WEIGHT:g} (a finite trade-off), "
                                 f"got {v}")

    def as_array(self) -> np.ndarray:
        """(5,) float32: w_cost, w_latency, w_energy, max_latency_ms, max_cost_usd."""
        lim = [min(self.max_latency_ms, 3e38), min(self.max_cost_usd, 3e38)]
        return np.array([self.w_cost, self.w_latency, self.w_energy, *lim], dtype=np.float32)


def utility(
    quality: np.ndarray,
    cost_usd: np.ndarray,
    latency_ms: np.ndarray,
    energy_j: np.ndarray,
    w: RewardWeights,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Utility per (request, model).

    Args:
        quality, cost_usd, latency_ms, energy_j: (n, M) predicted or observed outcomes.
        w: weights and limits.
        mask: (n, M) or (M,) bool, True = allowed. None = all allowed.

    Returns:
        (n, M) float64; NEG_INF where a limit or the mask excludes the model, and at
        least UTIL_FLOOR elsewhere.
    """
    u = quality - w.w_cost * cost_usd - w.w_latency * latency_ms - w.w_energy * energy_j
    u = np.maximum(u, UTIL_FLOOR)
    ok = (latency_ms <= w.max_latency_ms) & (cost_usd <= w.max_cost_usd)
    if mask is not None:
        ok = ok & mask
    return np.where(ok, u, NEG_INF)
