"""Validation metrics of a fitted policy on full-information logs.

The cost-quality curve sweeps ``w_cost`` (one artifact serves every point) and
reads the realised quality / cost of each chosen model from the logged matrices.
The cost to reach a fraction of the reference model's quality is ``eval.curves.
cost_to_reach``, the one definition every report uses (least cost on the curve's
non-decreasing hull); ``cheapest_at_target`` is also kept: the cheapest single sweep point
that reaches it (no mixing of two operating points).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from data.matrix import FullInfo
from eval.curves import cost_to_reach
from router_model.policies.base import Policy
from router_model.reward import RewardWeights


@dataclass
class CurvePoint:
    """Realised outcomes of the policy at one ``w_cost``."""

    w_cost: float
    quality: float
    cost_usd: float
    latency_ms: float
    energy_j: float


@dataclass
class ValidationReport:
    """Curve plus summary figures relative to ``reference_model``."""

    curve: list[CurvePoint]
    reference_model: str
    reference_quality: float
    reference_cost_usd: float
    best_single_quality: float
    cheapest_at_target: CurvePoint | None
    target_fraction: float
    cost_fraction_at_target: float | None = None  # eval.curves.cost_to_reach (the hull)
    extra: dict[str, float] = field(default_factory=dict)

    def flat_metrics(self, prefix: str = "val") -> dict[str, float]:
        """Scalars for the tracker / manifest."""
        m = {f"{prefix}_ref_quality": self.reference_quality,
             f"{prefix}_ref_cost_usd": self.reference_cost_usd,
             f"{prefix}_auc_quality": area_under_curve(self.curve, self.reference_cost_usd)}
        if self.cost_fraction_at_target is not None:
            m[f"{prefix}_cost_fraction_at_target"] = self.cost_fraction_at_target
        if self.cheapest_at_target is not None:
            c = self.cheapest_at_target
            m[f"{prefix}_point_cost_fraction_at_target"] = c.cost_usd / self.reference_cost_usd
            m[f"{prefix}_quality_at_target"] = c.quality
        m.update({f"{prefix}_{k}": v for k, v in self.extra.items()})
        return m

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def realised(log: FullInfo, choice: np.ndarray) -> tuple[float, float, float, float]:
    """Mean logged quality, cost, latency, energy of the chosen models (NaN -> 0 quality)."""
    rows = np.arange(len(choice))
    q = np.nan_to_num(log.quality[rows, choice], nan=0.0)
    return (float(q.mean()), float(np.nanmean(log.cost_usd[rows, choice])),
            float(np.nanmean(log.latency_ms[rows, choice])),
            float(np.nanmean(log.energy_j[rows, choice])))


def cost_quality_curve(policy: Policy, X: np.ndarray, log: FullInfo,
                       w_costs: list[float], tasks: np.ndarray | None = None) -> list[CurvePoint]:
    """Realised (quality, cost) at each w_cost (other weights 0)."""
    pts = []
    for w in w_costs:
        choice = policy.select(X, RewardWeights(w_cost=w), None, tasks)
        pts.append(CurvePoint(w, *realised(log, choice)))
    return pts


def area_under_curve(curve: list[CurvePoint], max_cost: float) -> float:
    """Mean quality of the upper-left hull over cost in [0, max_cost] (step function)."""
    pts = sorted((p.cost_usd, p.quality) for p in curve)
    grid = np.linspace(0.0, max_cost, 201)
    best = [max([q for c, q in pts if c <= g], default=0.0) for g in grid]
    return float(np.mean(best))


def validation_report(policy: Policy, X: np.ndarray, log: FullInfo, w_costs: list[float],
                      reference_model: str, target_fraction: float = 0.95,
                      tasks: np.ndarray | None = None) -> ValidationReport:
    """Curve on (X, log) plus the cheapest point reaching target x reference quality."""
    if reference_model not in log.models:
        raise ValueError(f"reference_model: {reference_model!r} not in {log.models}")
    ref = log.models.index(reference_model)
    ref_q, ref_c, _, _ = realised(log, np.full(len(log), ref))
    curve = cost_quality_curve(policy, X, log, w_costs, tasks)
    ok = [p for p in curve if p.quality >= target_fraction * ref_q]
    best_single = float(np.nan_to_num(log.quality, nan=0.0).mean(0).max())
    at = cost_to_reach(np.array([p.cost_usd for p in curve]),
                       np.array([p.quality for p in curve]), ref_q, ref_c, target_fraction)
    return ValidationReport(curve, reference_model, ref_q, ref_c, best_single,
                            min(ok, key=lambda p: p.cost_usd) if ok else None, target_fraction,
                            at.fraction)
