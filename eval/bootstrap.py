"""Seeded, vectorised non-parametric bootstrap of means (and of ratios of means).

All policies of one evaluation are resampled with the *same* row indices, so a
difference between two policies gets a paired interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CELLS = 8_000_000  # resample counts materialised at once (B_chunk * n), ~64 MB


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided percentile interval at level ``1 - alpha``."""

    mean: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high}


class Bootstrap:
    """Resampling plan: ``n_boot`` draws of n row indices, from a fixed seed.

    The same object gives identical resamples on every call (paired comparisons).
    """

    def __init__(self, n: int, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> None:
        if n < 1:
            raise ValueError(f"n: need at least one row to bootstrap, got {n}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha: expected in (0, 1), got {alpha}")
        self.n, self.n_boot, self.seed, self.alpha = n, n_boot, seed, alpha

    def _counts(self) -> list[np.ndarray]:
        """Resample counts, (b, n) float64 per chunk (row i drawn counts[., i] times),
        b summing to n_boot; identical on every call."""
        rng = np.random.default_rng(self.seed)
        step = max(1, MAX_CELLS // self.n)
        out = []
        for s in range(0, self.n_boot, step):
            b = min(step, self.n_boot - s)
            idx = rng.integers(0, self.n, size=(b, self.n)) + self.n * np.arange(b)[:, None]
            out.append(
                np.bincount(idx.ravel(), minlength=b * self.n).reshape(b, self.n).astype(np.float64)
            )
        return out

    def resample_counts(self) -> np.ndarray:
        """(B, n) float64: how often each row is drawn in each resample (the same draws as
        ``means``), for statistics that are not plain means (e.g. RouteLLM's APGR)."""
        return np.concatenate(self._counts(), axis=0)

    def _check(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if v.shape[0] != self.n:
            raise ValueError(f"values: expected {self.n} rows, got {v.shape[0]}")
        return v

    def means(self, values: np.ndarray) -> np.ndarray:
        """Bootstrap replicates of the column means: values (n,) or (n, k) -> (B,) or (B, k)."""
        v = self._check(values)
        return np.concatenate([c @ v / self.n for c in self._counts()], axis=0)

    def ratio_means(self, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """Replicates of sum(num) / sum(den) (e.g. self-normalised IPS), (n,) -> (B,)."""
        a, b = self._check(num), self._check(den)
        out = []
        for c in self._counts():
            d = c @ b
            out.append(np.where(d > 0, (c @ a) / np.where(d > 0, d, 1.0), np.nan))
        return np.concatenate(out)

    def interval(self, point: float, replicates: np.ndarray) -> Interval:
        """Percentile interval of (B,) replicates around ``point``."""
        r = replicates[np.isfinite(replicates)]
        if len(r) == 0:
            return Interval(point, float("nan"), float("nan"))
        lo, hi = np.quantile(r, [self.alpha / 2, 1 - self.alpha / 2])
        return Interval(float(point), float(lo), float(hi))

    def mean_interval(self, values: np.ndarray) -> Interval:
        """Mean of (n,) values with its percentile interval."""
        return self.interval(float(np.mean(values)), self.means(values))

    def lower_bound(self, values: np.ndarray) -> float:
        """One-sided lower confidence bound of the mean at level 1 - alpha ((n,) values)."""
        return float(np.quantile(self.means(values), self.alpha))
