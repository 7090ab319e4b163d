"""The cascade with a learned verifier, evaluated on RouterBench in the suite.

Policy (per request): answer with the model the router picks at cost weight ``w1``
(``argmax_utility`` of its predicted quality and the shared cost estimate); the verifier
(``router_model.verifier``) scores that answer; below ``tau`` the request escalates to the
router's best other model by predicted quality, and pays for both calls. The operating
points are every (w1, tau) of the sweep grid x ``TAUS``; their hull is compared with the
one-shot router's on the same test requests. The verifier is trained on the split's
train + validation answers (all models; RouterBench's ``<model>|model_response``).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eval.suite.methods import Fitted
from eval.suite.metrics import sweep_choices
from eval.suite.splits import Split
from router_model.verifier import Verifier

log = logging.getLogger(__name__)
TAUS = (0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9)


@functools.lru_cache(maxsize=2)
def _answers_by_id(folder: str) -> dict[str, list[str]]:
    """request_id -> answer texts in model-column order, plus "__models__"."""
    from data.convert.routerbench import _literal_text, _read, _request_ids, model_columns

    out: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("*.csv")):
        df = _read(path)
        models = model_columns(df)
        out["__models__"] = models
        texts = {m: [_literal_text(r) for r in df[f"{m}|model_response"]] for m in models}
        for i, rid in enumerate(_request_ids(df)):
            out[str(rid)] = [texts[m][i] for m in models]
    return out


def answers(folder: Path, request_ids: np.ndarray, models: list[str]) -> np.ndarray:
    """(n, M) answer texts aligned with the requests and ``models``."""
    by_id = _answers_by_id(str(folder))
    cols = [by_id["__models__"].index(m) for m in models]
    rows = [by_id[str(r)] for r in request_ids]
    return np.array([[r[c] or " " for c in cols] for r in rows], dtype=object)


def answer_bank(texts: np.ndarray, fit_rows: np.ndarray, dim: int, sif_a: float = 1e-3,
                max_tokens: int = 512) -> tuple[Any, np.ndarray]:
    """The answer featurizer module (the router's static featurizer, SIF counted on
    ``fit_rows``' answers) and (n, M, d_a) static features of every answer."""
    from eval.suite.features import FeatureBank

    n, M = texts.shape
    fit_idx = (fit_rows[:, None] * M + np.arange(M)).ravel()
    bank = FeatureBank([str(t) for t in texts.ravel()], dim, sif_a, max_tokens, tail_tokens=0)
    module, feats = bank.static(fit_idx)
    return module, feats.reshape(n, M, -1)


def answer_features(texts: np.ndarray, fit_rows: np.ndarray, dim: int) -> np.ndarray:
    """(n, M, d_a) static features of every answer (SIF counted on ``fit_rows``' answers)."""
    return answer_bank(texts, fit_rows, dim)[1]


def _train_verifier(P: np.ndarray, A: np.ndarray, quality: np.ndarray,
                    rows: np.ndarray) -> Verifier:
    n, M = len(rows), quality.shape[1]
    m = np.tile(np.arange(M), n)
    return Verifier().fit(np.repeat(P[rows], M, axis=0), A[rows].reshape(n * M, -1), m,
                          quality[rows].reshape(-1), M)


def _score(v: Verifier, P: np.ndarray, A: np.ndarray) -> np.ndarray:
    n, M = A.shape[:2]
    p = v.predict_proba(np.repeat(P, M, axis=0), A.reshape(n * M, -1), np.tile(np.arange(M), n))
    return p.reshape(n, M)


def cascade_outcomes(q_pred: np.ndarray, cost_pred: np.ndarray, p_ok: np.ndarray,
                     quality: np.ndarray, cost: np.ndarray, grid: tuple[float, ...]
                     ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]], np.ndarray]:
    """Per-request realised cost and quality (n, K) of every (w1, tau) operating point,
    the points, and (n, K) escalation flags. All inputs (n, M) on the test requests."""
    rows = np.arange(len(q_pred))
    first = sweep_choices(q_pred, cost_pred, grid)  # (G, n)
    masked = np.where(np.eye(q_pred.shape[1], dtype=bool)[first], -np.inf, q_pred[None])
    second = masked.argmax(axis=2)  # (G, n): best other model by predicted quality
    top = q_pred.argmax(axis=1)
    cs, qs, esc_all, pts = [], [], [], []
    for g, w1 in enumerate(grid):
        a1, a2 = first[g], second[g]
        for tau in TAUS:
            esc = (p_ok[rows, a1] < tau) & (a1 != top)
            cs.append(cost[rows, a1] + esc * cost[rows, a2])
            qs.append(np.where(esc, quality[rows, a2], quality[rows, a1]))
            esc_all.append(esc)
            pts.append((float(w1), tau))
    return np.stack(cs, 1), np.stack(qs, 1), pts, np.stack(esc_all, 1)


def cascade_for_split(s: Any, data: Any, split: Split, router: Fitted, P: np.ndarray,
                      cost_test: np.ndarray, grid: tuple[float, ...],
                      res: Any) -> tuple[np.ndarray, np.ndarray]:
    """Train the verifier, run the cascade on the split's test part; record its stats."""
    full = data.full
    texts = answers(s.shared / "routerbench", full.request_ids, full.models)
    A = answer_features(texts, split.fit, s.dim)
    v = _train_verifier(P, A, full.quality, split.fit)
    p_ok = _score(v, P[split.test], A[split.test])
    test = full.subset(split.test)
    c, q, pts, esc = cascade_outcomes(router.quality, cost_test, p_ok, test.quality,
                                      test.cost_usd, grid)
    res.cascade.append(_stats(split.k, p_ok, test, c, q, pts, esc, s.quality_frac))
    return c, q


def _stats(k: int, p_ok: np.ndarray, test: Any, c: np.ndarray, q: np.ndarray,
           pts: list[tuple[float, float]], esc: np.ndarray, frac: float) -> dict[str, Any]:
    """Verifier AUC / precision / recall on all test answers and at the cheapest point
    reaching ``frac`` of the reference (gpt-4) quality."""
    from sklearn.metrics import roc_auc_score

    y = test.quality.ravel() > 0.5
    ref = test.models.index("gpt-4-1106-preview") if "gpt-4-1106-preview" in test.models \
        else int(test.quality.mean(0).argmax())
    target = frac * test.quality[:, ref].mean()
    ok = np.flatnonzero(q.mean(0) >= target)
    out: dict[str, Any] = {"split": k, "auc": float(roc_auc_score(y, p_ok.ravel())),
                           **_pr(p_ok.ravel() >= 0.5, y), "point": None}
    if len(ok):
        j = ok[np.argmin(c.mean(0)[ok])]
        w1, tau = pts[j]
        out["point"] = {"w1": w1, "tau": tau, "escalation_rate": float(esc[:, j].mean()),
                        "cost_fraction": float(c[:, j].mean() / test.cost_usd[:, ref].mean()),
                        "quality": float(q[:, j].mean())}
    return out


def _pr(accept: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    tp = float((accept & correct).sum())
    return {"precision": tp / max(float(accept.sum()), 1.0),
            "recall": tp / max(float(correct.sum()), 1.0)}


__all__ = ["TAUS", "answers", "cascade_for_split", "cascade_outcomes", "pd"]
