"""Calibration and the operating point of the hit verifier.

``platt(logits, labels)`` fits ``p = sigmoid(scale * logit + bias)`` (one-feature
logistic regression). ``operating_point`` picks the lowest probability threshold at
which, on the validation pairs, (a) the false-hit rate on QQP non-duplicates is at most
``target_false_hit_rate`` and (b) the false-hit rate on every trap category is at most
``target_trap_false_hit_rate``; it reports the hit rates there. ``rate_at`` and
``recall_at_fhr`` are the shared metric helpers (evaluation uses them too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from train.cache_traps import SURFACE, TRAP_CATEGORIES


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(scale, bias) of the Platt fit on (n,) logits and 0/1 labels."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(logits.reshape(-1, 1), labels)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def threshold_for(neg_scores: np.ndarray, rate: float) -> float:
    """Smallest threshold t with mean(neg_scores >= t) <= rate (inf when none)."""
    if len(neg_scores) == 0:
        return -np.inf
    s = np.sort(neg_scores)[::-1]
    allowed = int(np.floor(rate * len(s) + 1e-9))  # this many negatives may pass
    if allowed >= len(s):
        return -np.inf
    return float(np.nextafter(s[allowed], np.inf))


def rate_at(scores: np.ndarray, threshold: float) -> float:
    return float((scores >= threshold).mean()) if len(scores) else float("nan")


def recall_at_fhr(scores: np.ndarray, labels: np.ndarray, rate: float) -> tuple[float, float]:
    """(hit rate on positives, threshold) at false-hit rate <= ``rate`` on negatives."""
    t = threshold_for(scores[labels == 0], rate)
    return rate_at(scores[labels == 1], t), t


@dataclass
class OperatingPoint:
    """The chosen threshold and what validation says about it."""

    threshold: float
    target_false_hit_rate: float
    target_trap_false_hit_rate: float
    false_hit_rate: float  # validation QQP non-duplicates served
    hit_rate: float  # validation QQP duplicates served
    trap_false_hit_rate: float  # all validation traps
    per_category: dict[str, float]  # trap categories: false hits; surface: hits

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def operating_point(probs: np.ndarray, labels: np.ndarray, categories: Sequence[str],
                    target: float, trap_target: float) -> OperatingPoint:
    """The threshold meeting both targets on validation data (see module)."""
    cats = np.asarray(categories)
    qqp = cats == "qqp"
    t = threshold_for(probs[qqp & (labels == 0)], target)
    for c in TRAP_CATEGORIES:
        sel = cats == c
        if sel.any():
            t = max(t, threshold_for(probs[sel], trap_target))
    t = min(max(t, 0.0), 1.0)
    traps = np.isin(cats, TRAP_CATEGORIES)
    per = {c: rate_at(probs[cats == c], t) for c in (*TRAP_CATEGORIES, SURFACE)
           if (cats == c).any()}
    return OperatingPoint(t, target, trap_target, rate_at(probs[qqp & (labels == 0)], t),
                          rate_at(probs[qqp & (labels == 1)], t), rate_at(probs[traps], t), per)
