"""Cost-quality curves and the routing metrics defined on them.

- ``nondecreasing_hull``: RouterBench's non-decreasing convex hull of (cost, quality)
  operating points (arXiv 2403.12031, sec. 3): the upper concave envelope from the
  cheapest point up to the best-quality point. Every point on it is attainable by
  randomly mixing two operating points of the router.
- ``aiq``: Average Improvement in Quality, (1 / (c_max - c_min)) * integral of the hull
  over [c_min, c_max], where [c_min, c_max] is the cost range of the single models
  (the same range for every router, so AIQs are comparable). The hull is extended flat
  to the right of its last point and is 0 left of its first point (cost a router cannot
  reach), as in RouterBench's reference code.
- ``cost_at_quality``: the least cost on the hull reaching a target quality;
  ``cost_to_reach`` is THE "cost to reach 95% of the reference" of every report (eval,
  train's validation, the suite): the least cost on the non-decreasing hull of a policy's
  operating points reaching ``frac`` x the reference model's mean quality on the same
  requests, as a fraction of the reference model's mean cost (interpolating on the hull:
  a random mix of two operating points attains every point between them).
  ``reference_index`` picks the reference (a named model, else the best by quality).
- ``apgr`` / ``cpt``: RouteLLM's (arXiv 2406.18665, sec. 5) Average Performance Gap
  Recovered and Call-Performance Threshold on a curve of (fraction of strong-model
  calls, quality) for a strong/weak pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def nondecreasing_hull(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Vertices of the non-decreasing upper convex hull.

    Args:
        cost, quality: (k,) operating points (k >= 1).

    Returns:
        (h, 2) float64 [cost, quality] sorted by cost, quality strictly increasing.
    """
    c, q = np.asarray(cost, dtype=np.float64), np.asarray(quality, dtype=np.float64)
    ok = np.isfinite(c) & np.isfinite(q)
    if not ok.any():
        raise ValueError("curve: no finite (cost, quality) point")
    order = np.lexsort((-q[ok], c[ok]))  # by cost, then best quality first
    pts = np.stack([c[ok][order], q[ok][order]], axis=1)
    hull: list[np.ndarray] = []
    for p in pts:
        if hull and p[0] == hull[-1][0]:
            continue  # same cost, lower quality
        if hull and p[1] <= hull[-1][1]:
            continue  # costs more, no better: never on a non-decreasing hull
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()  # hull[-1] lies on or below the chord hull[-2] -> p
        hull.append(p)
    return np.array(hull)


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """z of (a - o) x (b - o); >= 0 means a is not strictly above the chord o -> b."""
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def hull_value(hull: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Hull quality at costs c (k,): 0 below the first vertex, flat after the last."""
    c = np.asarray(c, dtype=np.float64)
    v = np.interp(c, hull[:, 0], hull[:, 1])
    return np.where(c < hull[0, 0], 0.0, v)


def aiq(hull: np.ndarray, c_min: float, c_max: float) -> float:
    """Average quality of the hull over [c_min, c_max] (exact piecewise-linear integral)."""
    if not c_max > c_min:
        raise ValueError(f"aiq: empty cost range [{c_min}, {c_max}]")
    xs = hull[:, 0][(hull[:, 0] > c_min) & (hull[:, 0] < c_max)]
    # a breakpoint just left of the first vertex captures the jump from 0
    first = hull[0, 0]
    jump = [np.nextafter(first, -np.inf)] if c_min < first < c_max else []
    grid = np.unique(np.concatenate([[c_min], jump, xs, [c_max]]))
    return float(np.trapezoid(hull_value(hull, grid), grid) / (c_max - c_min))


@dataclass(frozen=True)
class CostAtQuality:
    """Least hull cost reaching ``target``; None when the hull never reaches it."""

    target: float
    cost: float | None


def cost_at_quality(hull: np.ndarray, target: float) -> CostAtQuality:
    """Smallest cost c with hull(c) >= target, interpolated on the hull segment."""
    if hull[-1, 1] < target:
        return CostAtQuality(target, None)
    if hull[0, 1] >= target:
        return CostAtQuality(target, float(hull[0, 0]))
    j = int(np.argmax(hull[:, 1] >= target))  # first vertex at/above target, j >= 1
    (c0, q0), (c1, q1) = hull[j - 1], hull[j]
    return CostAtQuality(target, float(c0 + (target - q0) * (c1 - c0) / (q1 - q0)))


@dataclass(frozen=True)
class CostAtTarget:
    """``cost_to_reach``'s answer; ``fraction`` / ``cost`` None when never reached."""

    fraction: float | None
    cost: float | None
    target: float


def cost_to_reach(cost: np.ndarray, quality: np.ndarray, ref_quality: float,
                  ref_cost: float, frac: float = 0.95) -> CostAtTarget:
    """Least hull cost reaching ``frac * ref_quality``, also as a fraction of ``ref_cost``.

    Args:
        cost, quality: (k,) a policy's operating points (mean cost, mean quality).
        ref_quality, ref_cost: the reference model's mean quality and cost, same requests.
    """
    target = frac * ref_quality
    at = cost_at_quality(nondecreasing_hull(cost, quality), target)
    if at.cost is None:
        return CostAtTarget(None, None, target)
    return CostAtTarget(at.cost / ref_cost if ref_cost > 0 else None, at.cost, target)


def reference_index(quality: np.ndarray, cost: np.ndarray, models: list[str],
                    name: str | None = None) -> int:
    """The reference model: ``name`` when given, else the best mean quality (ties: the
    cheaper). quality, cost: (M,) means."""
    if name:
        if name not in models:
            raise ValueError(f"reference_model: {name!r} is not one of {models}")
        return models.index(name)
    return int(np.lexsort((np.asarray(cost), -np.asarray(quality)))[0])


def _strong_curve(
    strong_frac: np.ndarray, quality: np.ndarray, q_weak: float, q_strong: float
) -> tuple[np.ndarray, np.ndarray]:
    """Curve sorted by strong fraction, with the trivial end points (0, q_weak) and
    (1, q_strong) (all-weak / all-strong thresholds) added where the sweep lacks them."""
    s, q = np.asarray(strong_frac, dtype=np.float64), np.asarray(quality, dtype=np.float64)
    if s.min() > 0:
        s, q = np.append(s, 0.0), np.append(q, q_weak)
    if s.max() < 1:
        s, q = np.append(s, 1.0), np.append(q, q_strong)
    order = np.lexsort((q, s))
    return s[order], q[order]


def apgr(strong_frac: np.ndarray, quality: np.ndarray, q_weak: float, q_strong: float) -> float:
    """Average Performance Gap Recovered: integral over strong-call fraction in [0, 1] of
    PGR = (quality - q_weak) / (q_strong - q_weak), trapezoidal (RouteLLM)."""
    if q_strong == q_weak:
        raise ValueError("apgr: strong and weak models have the same quality")
    s, q = _strong_curve(strong_frac, quality, q_weak, q_strong)
    pgr = (q - q_weak) / (q_strong - q_weak)
    return float(np.trapezoid(pgr, s))


def cpt(
    strong_frac: np.ndarray, quality: np.ndarray, q_weak: float, q_strong: float, pgr: float
) -> float | None:
    """Call-Performance Threshold: least strong-call fraction whose curve reaches
    PGR >= ``pgr`` (linear interpolation between sweep points); None if never."""
    s, q = _strong_curve(strong_frac, quality, q_weak, q_strong)
    target = q_weak + pgr * (q_strong - q_weak)
    hit = np.flatnonzero(q >= target)
    if len(hit) == 0:
        return None
    j = int(hit[0])
    if j == 0:
        return float(s[0])
    (s0, q0), (s1, q1) = (s[j - 1], q[j - 1]), (s[j], q[j])
    return float(s0 + (target - q0) * (s1 - s0) / (q1 - q0))
