"""Replay of routing decisions on full-information logs: what each policy would have got.

Given every model's true outcome per request (``FullInfo``) and a policy's choice per
request, the realised outcome is read off the matrices; no model is called.
Realised utility is ``router_model.reward.realised_utility`` of the chosen model (the one
utility formula; limits are a routing constraint, not part of the score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.matrix import FullInfo
from eval.bootstrap import Bootstrap
from router_model.reward import RewardWeights, realised_utility

METRICS = ("quality", "cost_usd", "latency_ms", "energy_j", "utility")


@dataclass
class Outcomes:
    """Realised per-request outcomes of one policy, each (n,) float64; choice (n,) int64."""

    choice: np.ndarray
    quality: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    energy_j: np.ndarray
    utility: np.ndarray

    def subset(self, idx: np.ndarray) -> Outcomes:
        return Outcomes(*(getattr(self, f)[idx] for f in ("choice", *METRICS)))


def realised(full: FullInfo, choice: np.ndarray, w: RewardWeights) -> Outcomes:
    """Outcomes of choosing ``choice`` (n,) int on ``full`` (n requests)."""
    choice = np.asarray(choice, dtype=np.int64)
    if choice.shape != (len(full),):
        raise ValueError(f"choice: expected shape ({len(full)},), got {choice.shape}")
    rows = np.arange(len(full))
    q, c, lat, e = (getattr(full, f)[rows, choice] for f in METRICS[:4])
    return Outcomes(choice, q, c, lat, e, realised_utility(q, c, lat, e, w))


@dataclass(frozen=True)
class Stat:
    """Mean with bootstrap interval, and the median / 95th percentile over requests."""

    mean: float
    ci_low: float
    ci_high: float
    p50: float
    p95: float

    def to_dict(self) -> dict[str, float]:
        return {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p50": self.p50,
            "p95": self.p95,
        }


@dataclass
class PolicySummary:
    """Per-metric statistics and the share of traffic each model receives."""

    stats: dict[str, Stat]
    share: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: v.to_dict() for k, v in self.stats.items()}
        out["share"] = dict(self.share)
        return out


def summarize(
    outcomes: dict[str, Outcomes], models: list[str], boot: Bootstrap
) -> dict[str, PolicySummary]:
    """Statistics of every policy; one bootstrap pass over all (policy, metric) columns,
    so intervals of different policies come from the same resamples."""
    names = list(outcomes)
    cols = np.stack([getattr(outcomes[p], m) for p in names for m in METRICS], axis=1)
    reps = boot.means(cols)  # (B, P * 5)
    lo, hi = np.quantile(reps, [boot.alpha / 2, 1 - boot.alpha / 2], axis=0)
    mean, p50, p95 = cols.mean(axis=0), np.median(cols, axis=0), np.quantile(cols, 0.95, axis=0)
    out = {}
    for i, p in enumerate(names):
        stats = {}
        for j, m in enumerate(METRICS):
            k = i * len(METRICS) + j
            stats[m] = Stat(
                float(mean[k]), float(lo[k]), float(hi[k]), float(p50[k]), float(p95[k])
            )
        counts = np.bincount(outcomes[p].choice, minlength=len(models)) / len(cols)
        out[p] = PolicySummary(
            stats, {mdl: float(s) for mdl, s in zip(models, counts, strict=True)}
        )
    return out


def drop_incomplete(full: FullInfo) -> tuple[FullInfo, int]:
    """Requests with every outcome of every model known, and how many were dropped."""
    ok = np.ones(len(full), dtype=bool)
    for f in METRICS[:4]:
        ok &= np.isfinite(getattr(full, f)).all(axis=1)
    return full.subset(ok), int((~ok).sum())


def curve_means(full: FullInfo, choices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cost and quality per operating point: choices (G, n) -> ((G,), (G,))."""
    rows = np.arange(choices.shape[1])[None, :]
    return full.cost_usd[rows, choices].mean(axis=1), full.quality[rows, choices].mean(axis=1)
