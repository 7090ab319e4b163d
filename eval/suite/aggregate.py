"""Figures over splits: the mean over splits with a percentile interval, paired diffs.

Each split's figure has B bootstrap replicates over its own test requests (disjoint test
parts, independent resamples). The replicate of the mean over splits is the mean of the
splits' replicates, so its percentile interval covers the test-sampling noise of all
splits together; a difference between two methods is formed replicate by replicate
within each split first (paired). Figures that are infinite on some replicate (cost at
95% never reached) keep inf in the mean and show as "never".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from eval.suite.metrics import Figure


@dataclass
class Summary:
    """A figure over splits: mean, its (1 - alpha) interval, and the per-split values."""

    mean: float
    ci_low: float
    ci_high: float
    per_split: list[float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _interval(reps: np.ndarray, alpha: float) -> tuple[float, float]:
    r = reps[~np.isnan(reps)]
    if len(r) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(r, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def over_splits(figs: list[Figure], alpha: float = 0.05) -> Summary:
    """Mean over splits of one method's figure, with its interval."""
    vals = np.array([f.value for f in figs])
    with np.errstate(invalid="ignore"):
        reps = np.mean(np.stack([f.reps for f in figs]), axis=0)
    lo, hi = _interval(reps, alpha)
    return Summary(float(np.mean(vals)), lo, hi, vals.tolist())


def paired_diff(a: list[Figure], b: list[Figure], alpha: float = 0.05) -> Summary:
    """Mean over splits of (a - b), paired within each split's resamples."""
    vals = np.array([x.value - y.value for x, y in zip(a, b, strict=True)])
    with np.errstate(invalid="ignore"):
        reps = np.mean(np.stack([x.reps - y.reps for x, y in zip(a, b, strict=True)]), axis=0)
    lo, hi = _interval(reps, alpha)
    return Summary(float(np.mean(vals)), lo, hi, vals.tolist())
