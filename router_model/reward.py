"""Utility of a model for a request: quality minus weighted cost, latency and energy.

    u(m) = q(m) - w_cost * cost_usd(m) - w_latency * latency_ms(m) - w_energy * energy_j(m)

subject to hard limits (max latency, max cost, allowed models): a model that breaks
a limit gets utility -inf. If every model is excluded, the choice falls back to the
allowed model with the best utility ignoring the latency/cost limits (documented
default, never a crash).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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

    def columns(self) -> tuple[float, float, float, float, float]:
        """The five values in ``as_array`` order (limits may be inf)."""
        return (self.w_cost, self.w_latency, self.w_energy, self.max_latency_ms,
                self.max_cost_usd)

    def as_array(self) -> np.ndarray:
        """(5,) float32: w_cost, w_latency, w_energy, max_latency_ms, max_cost_usd."""
        lim = [min(self.max_latency_ms, 3e38), min(self.max_cost_usd, 3e38)]
        return np.array([self.w_cost, self.w_latency, self.w_energy, *lim], dtype=np.float32)


def trade_off(q: Any, c: Any, lat: Any, e: Any, w_cost: Any, w_latency: Any,
              w_energy: Any) -> Any:
    """THE utility formula, q - w_cost c - w_latency l - w_energy e (one place: the graph,
    the policies, replay, OPE rewards and the load adjustment call it). Plain arithmetic,
    so numpy arrays, floats and torch tensors (the exported graph) all work."""
    return q - w_cost * c - w_latency * lat - w_energy * e


def realised_utility(q: Any, c: Any, lat: Any, e: Any, w: RewardWeights) -> Any:
    """``trade_off`` under ``w``'s weights (the score of a realised outcome; limits are a
    routing constraint, not part of it)."""
    return trade_off(q, c, lat, e, w.w_cost, w.w_latency, w.w_energy)


@dataclass(frozen=True)
class ArrayOps:
    """The three array operations the decision rule needs, for numpy or torch."""

    where: Callable[[Any, Any, Any], Any]
    floor: Callable[[Any, float], Any]  # elementwise max(x, v)
    row_max: Callable[[Any], Any]  # max over the last axis, kept


NUMPY_OPS = ArrayOps(np.where, np.maximum, lambda x: np.max(x, axis=-1, keepdims=True))


def decision_utility(q: Any, c: Any, lat: Any, e: Any, w: Sequence[Any], mask: Any,
                     ops: ArrayOps = NUMPY_OPS) -> tuple[Any, Any]:
    """THE decision rule: utilities under the limits and the mask, floored at UTIL_FLOOR,
    NEG_INF where excluded; where every allowed model breaks a limit (the fallback), the
    limits are dropped for that request and the mask kept.

    Args:
        q, c, lat, e: (n, M) predicted outcomes (numpy or torch).
        w: the five columns (w_cost, w_latency, w_energy, max_latency_ms, max_cost_usd),
            floats or (n, 1) tensors.
        mask: (n, M) / (M,) bool, True = allowed (numpy: None = all).
        ops: ``NUMPY_OPS`` or the graph's torch ops.

    Returns:
        utility (n, M) and the fallback rows (n, 1) bool.
    """
    w_cost, w_lat, w_energy, max_lat, max_cost = w
    u = ops.floor(trade_off(q, c, lat, e, w_cost, w_lat, w_energy), UTIL_FLOOR)
    allowed = True if mask is None else mask
    within = (lat <= max_lat) & (c <= max_cost) & allowed
    limited = ops.where(within, u, NEG_INF)
    relaxed = ops.where(allowed, u, NEG_INF)
    fallback = ops.row_max(limited) <= NEG_INF
    return ops.where(fallback, relaxed, limited), fallback


def utility(
    quality: np.ndarray,
    cost_usd: np.ndarray,
    latency_ms: np.ndarray,
    energy_j: np.ndarray,
    w: RewardWeights,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Utility per (request, model) under the limits, WITHOUT the fallback.

    Args:
        quality, cost_usd, latency_ms, energy_j: (n, M) predicted or observed outcomes.
        w: weights and limits.
        mask: (n, M) or (M,) bool, True = allowed. None = all allowed.

    Returns:
        (n, M) float64; NEG_INF where a limit or the mask excludes the model, and at
        least UTIL_FLOOR elsewhere.
    """
    u = np.maximum(realised_utility(quality, cost_usd, latency_ms, energy_j, w), UTIL_FLOOR)
    ok = (latency_ms <= w.max_latency_ms) & (cost_usd <= w.max_cost_usd)
    if mask is not None:
        ok = ok & mask
    return np.where(ok, u, NEG_INF)
