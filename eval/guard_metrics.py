"""Detection metrics for the guard's categories, per source (shared by training and eval).

For a category, positives are the texts of a source labelled 1; negatives are benign
texts labelled 0. ``recall_at_fpr`` reads the ROC curve of positives against the pooled
benign negatives at a false-positive rate (the best recall whose FPR does not exceed
it); ``at_threshold`` gives the operating point's recall / FPR with a fixed threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


@dataclass
class SourceMetrics:
    """One positive source against the pooled benign negatives."""

    n_pos: int
    n_neg: int
    auc: float
    ap: float
    recall_at_1pct_fpr: float
    recall_at_threshold: float

    def as_dict(self) -> dict[str, float]:
        return {"n_pos": self.n_pos, "n_neg": self.n_neg, "auc": self.auc, "ap": self.ap,
                "recall_at_1pct_fpr": self.recall_at_1pct_fpr,
                "recall_at_threshold": self.recall_at_threshold}


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float = 0.01) -> float:
    """Highest recall on ``pos`` whose false-positive rate on ``neg`` is <= ``fpr``."""
    if not len(pos) or not len(neg):
        return float("nan")
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    f, t, _ = roc_curve(y, np.r_[pos, neg])
    ok = f <= fpr + 1e-12
    return float(t[ok].max()) if ok.any() else 0.0


def source_metrics(pos: np.ndarray, neg: np.ndarray, threshold: float) -> SourceMetrics:
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    s = np.r_[pos, neg]
    both = len(pos) and len(neg)
    return SourceMetrics(len(pos), len(neg),
                         float(roc_auc_score(y, s)) if both else float("nan"),
                         float(average_precision_score(y, s)) if both else float("nan"),
                         recall_at_fpr(pos, neg, 0.01),
                         float((pos >= threshold).mean()) if len(pos) else float("nan"))


def per_source(scores: np.ndarray, labels: np.ndarray, sources: Sequence[str],
               threshold: float, benign_sources: Sequence[str]) -> dict[str, dict]:
    """Per positive source (and ``ALL``): metrics vs pooled benign negatives; per benign
    source (key ``benign:<source>``): its false-positive rate at ``threshold``.

    Args:
        scores, labels: (n,) one category's scores and 1 / 0 / -1 labels.
    """
    src = np.asarray(sources)
    neg_mask = np.isin(src, benign_sources) & (labels == 0)
    neg = scores[neg_mask]
    out: dict[str, dict] = {}
    pos_sources = sorted(set(src[labels == 1]))
    for s in pos_sources:
        out[s] = source_metrics(scores[(src == s) & (labels == 1)], neg, threshold).as_dict()
    if pos_sources:
        out["ALL"] = source_metrics(scores[labels == 1], neg, threshold).as_dict()
    for b in benign_sources:
        m = (src == b) & (labels == 0)
        if m.any():
            out[f"benign:{b}"] = {"n_neg": int(m.sum()), "fpr_at_threshold": float(
                (scores[m] >= threshold).mean())}
    return out


def roc_points(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve (fpr, tpr) for plotting."""
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    f, t, _ = roc_curve(y, np.r_[pos, neg])
    return f, t


def summarize(by_category: Mapping[str, dict[str, dict]]) -> dict[str, float]:
    """Flat headline numbers for MLflow / the manifest."""
    flat: dict[str, float] = {}
    for cat, rows in by_category.items():
        for src, row in rows.items():
            for k, v in row.items():
                if isinstance(v, int | float) and k != "n_neg" and k != "n_pos":
                    flat[f"{cat}.{src}.{k}"] = float(v)
    return flat
