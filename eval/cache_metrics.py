"""Hit / false-hit figures of a cache on labelled pairs (the output of ``cache pairs``).

A pair's label says whether one answer serves both texts (1: a hit is right, 0: a hit
is a false hit). Per category (``qqp`` and the trap categories) the rate of pairs served
is the hit rate (label 1) or the false-hit rate (label 0). ``curve`` sweeps the score
threshold: (false-hit rate on QQP non-duplicates, hit rate on QQP duplicates, trap
false-hit rate) per threshold, which is how the operating points of a learned decision
and a plain cosine threshold are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from train.cache_calibrate import rate_at, recall_at_fhr, threshold_for
from train.cache_traps import SURFACE, TRAP_CATEGORIES


@dataclass
class Scored:
    """One system's results on n pairs: scores (n,), hits (n,) bool, micros (n,)."""

    name: str
    scores: np.ndarray
    hits: np.ndarray
    micros: np.ndarray
    tiers: list[str | None]


def per_category(hits: np.ndarray, labels: np.ndarray, cats: Sequence[str]
                 ) -> dict[str, dict[str, float]]:
    """{category: {n, hit_rate | false_hit_rate}} (QQP split into duplicates and not)."""
    c = np.asarray(cats)
    out: dict[str, dict[str, float]] = {}
    q = c == "qqp"
    out["qqp_duplicates"] = {"n": int((q & (labels == 1)).sum()),
                             "hit_rate": _mean(hits[q & (labels == 1)])}
    out["qqp_non_duplicates"] = {"n": int((q & (labels == 0)).sum()),
                                 "false_hit_rate": _mean(hits[q & (labels == 0)])}
    traps = np.isin(c, TRAP_CATEGORIES)
    out["traps_all"] = {"n": int(traps.sum()), "false_hit_rate": _mean(hits[traps])}
    for cat in TRAP_CATEGORIES:
        sel = c == cat
        out[cat] = {"n": int(sel.sum()), "false_hit_rate": _mean(hits[sel])}
    sel = c == SURFACE
    out[SURFACE] = {"n": int(sel.sum()), "hit_rate": _mean(hits[sel])}
    return out


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else float("nan")


def curve(scores: np.ndarray, labels: np.ndarray, cats: Sequence[str], points: int = 200
          ) -> list[dict[str, float]]:
    """Operating points over thresholds (quantiles of the scores), best-first order."""
    c = np.asarray(cats)
    q = c == "qqp"
    pos, neg = scores[q & (labels == 1)], scores[q & (labels == 0)]
    traps = scores[np.isin(c, TRAP_CATEGORIES)]
    ts = np.unique(np.quantile(scores, np.linspace(0, 1, points)))
    out = [{"threshold": float(t), "false_hit_rate": rate_at(neg, t),
            "hit_rate": rate_at(pos, t), "trap_false_hit_rate": rate_at(traps, t)}
           for t in ts]
    return sorted(out, key=lambda r: r["false_hit_rate"])


def at_false_hit_rate(scores: np.ndarray, labels: np.ndarray, cats: Sequence[str],
                      rate: float) -> dict[str, object]:
    """The threshold (tuned on these very pairs) with QQP false hits <= ``rate``, and
    what it serves: hit rate on duplicates and false-hit rates on every trap category."""
    c = np.asarray(cats)
    q = c == "qqp"
    hit, t = recall_at_fhr(scores[q], labels[q], rate)
    hits = scores >= t
    return {"threshold": t, "target_false_hit_rate": rate,
            "false_hit_rate": rate_at(scores[q & (labels == 0)], t), "hit_rate": hit,
            "per_category": per_category(hits, labels, cats)}


def latency(micros: np.ndarray) -> dict[str, float]:
    return {"p50_us": float(np.percentile(micros, 50)), "p99_us": float(np.percentile(micros, 99)),
            "mean_us": float(micros.mean())}


def summary(s: Scored, labels: np.ndarray, cats: Sequence[str],
            rates: Sequence[float] = (0.01, 0.02, 0.05)) -> dict[str, object]:
    """Everything reported for one system."""
    return {"operating_point": per_category(s.hits, labels, cats),
            "at_false_hit_rate": {f"{r:g}": at_false_hit_rate(s.scores, labels, cats, r)
                                  for r in rates},
            "curve": curve(s.scores, labels, cats),
            "lookup_latency": latency(s.micros),
            "tiers": {t or "miss": int(sum(1 for x in s.tiers if x == t))
                      for t in ("exact", "semantic", None)}}


def baseline_at(scores: np.ndarray, labels: np.ndarray, cats: Sequence[str],
                false_hit_rate: float) -> dict[str, object]:
    """A baseline held to a given false-hit rate (ours at its operating point)."""
    neg = scores[(np.asarray(cats) == "qqp") & (labels == 0)]
    t = threshold_for(neg, false_hit_rate)
    return {"threshold": t, "per_category": per_category(scores >= t, labels, cats)}
