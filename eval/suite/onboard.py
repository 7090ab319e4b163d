"""Onboarding a new model with N labelled queries, without retraining the router.

On RouterBench, one model is held out as "new": the router (the configured policy) is
trained on the other models only. Then N labelled queries of the new model (drawn from
the split's train + validation part) fit a small head that predicts the new model's
correctness from the router's own predicted-quality logits for the known models (a
model embedding in the space the router already learned; strength is shared across
models). Compared with: the mean of the N labels (prior), a logistic regression on the
static features fitted on the N labels alone (scratch), and the router retrained with the
new model's full labels (upper reference). Figure: AIQ of routing over all models on the
split's test part, and the AUC of the new model's predicted correctness, against N.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from eval.suite.cost_model import LogLinearCost
from eval.suite.metrics import realised_sweep, sweep_choices, w_grid
from eval.suite.splits import Split

log = logging.getLogger(__name__)
NS = (25, 50, 100, 200)
DRAWS = 3


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _fit_head(Z: np.ndarray, y: np.ndarray, C: float) -> np.ndarray | LogisticRegression:
    if y.min() == y.max():
        return np.array([float(y.mean())])
    return LogisticRegression(C=C, max_iter=500).fit(Z, y > 0.5)


def _predict(head: Any, Z: np.ndarray) -> np.ndarray:
    if isinstance(head, np.ndarray):
        return np.full(len(Z), float(head[0]))
    return head.predict_proba(Z)[:, 1]


def _aiq(test_q: np.ndarray, test_c: np.ndarray, q_pred: np.ndarray, c_pred: np.ndarray,
         n_points: int) -> float:
    from eval.suite.metrics import _aiq

    grid = w_grid(test_c, n_points)
    ch = sweep_choices(q_pred, c_pred, grid)
    rows = np.arange(len(test_q))[None, :]
    c, q = test_c[rows, ch].mean(1), test_q[rows, ch].mean(1)
    return _aiq(c, q, test_c.mean(0))


def onboard_for_split(s: Any, data: Any, split: Split, X: np.ndarray, factory: Any,
                      new_model: str) -> list[dict[str, Any]]:
    """Rows {split, n, draw, method, aiq, auc} for every N, draw and method."""
    full = data.full
    j = full.models.index(new_model)
    known = [m for m in range(len(full.models)) if m != j]
    fit = full.subset(split.fit)
    sub = type(fit)(fit.request_ids, fit.queries, fit.tasks, [full.models[m] for m in known],
                    *(getattr(fit, o)[:, known] for o in ("quality", "cost_usd", "latency_ms",
                                                         "energy_j")))
    router = factory().fit(X[split.fit], sub)
    full_router = factory().fit(X[split.fit], fit)
    texts = [str(q) for q in full.queries]
    test = full.subset(split.test)
    cost_known = LogLinearCost().fit([texts[i] for i in split.fit], fit.cost_usd[:, known])
    t_texts = [texts[i] for i in split.test]
    q_known = router.predict(X[split.test]).quality
    c_test = np.zeros((len(split.test), len(full.models)))
    c_test[:, known] = cost_known.predict(t_texts)
    Z_fit, Z_test = _logit(router.predict(X[split.fit]).quality), _logit(q_known)
    rows = []
    full_q = full_router.predict(X[split.test]).quality
    c_full = LogLinearCost().fit([texts[i] for i in split.fit], fit.cost_usd).predict(t_texts)
    ref = {"split": split.k, "n": len(split.fit), "draw": 0, "method": "full_retrain",
           "aiq": _aiq(test.quality, test.cost_usd, full_q, c_full, s.n_points),
           "auc": _auc(test.quality[:, j], full_q[:, j])}
    rows.append(ref)
    rng = np.random.default_rng(s.seed + 77 * split.k)
    for n in NS:
        for d in range(DRAWS):
            pick = rng.choice(len(split.fit), size=min(n, len(split.fit)), replace=False)
            y = fit.quality[pick, j]
            cm = LogLinearCost().fit([texts[split.fit[i]] for i in pick],
                                     fit.cost_usd[pick, j:j + 1])
            c_test[:, j] = cm.predict(t_texts)[:, 0]
            preds = {"prior": np.full(len(split.test), float(y.mean())),
                     "head_on_router": _predict(_fit_head(Z_fit[pick], y, 1.0), Z_test),
                     "scratch": _predict(_fit_head(X[split.fit][pick], y, 0.1),
                                         X[split.test])}
            for name, p in preds.items():
                q = q_known_full(q_known, p, known, j)
                rows.append({"split": split.k, "n": n, "draw": d, "method": name,
                             "aiq": _aiq(test.quality, test.cost_usd, q, c_test, s.n_points),
                             "auc": _auc(test.quality[:, j], p)})
    return rows


def q_known_full(q_known: np.ndarray, p_new: np.ndarray, known: list[int],
                 j: int) -> np.ndarray:
    """(n, M) predicted quality: the router's for the known models, ``p_new`` for j."""
    q = np.zeros((len(p_new), len(known) + 1))
    q[:, known] = q_known
    q[:, j] = p_new
    return q


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    yb = y > 0.5
    if yb.all() or not yb.any() or np.all(p == p[0]):
        return 0.5 if not (yb.all() or not yb.any()) else None
    return float(roc_auc_score(yb, p))


__all__ = ["NS", "onboard_for_split", "realised_sweep"]
