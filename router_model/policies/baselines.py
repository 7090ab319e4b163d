"""Routing baselines the evaluation compares a learned router against.

All follow the ``Policy`` contract (``fit`` returns self, fitted attributes end in ``_``):

- ``random``: uniform over the allowed models (``action_probs`` is that uniform law).
- ``fixed``: always one named model.
- ``cheapest``: the allowed model with the lowest mean training cost.
- ``knn``: k nearest training queries (cosine distance on features); each model's
  quality / cost / latency / energy predicted as the neighbours' mean.
- ``task_prior``: per-task mean outcome of each model in training; the global mean for
  tasks unseen in training (or when no tasks are given).
- ``oracle``: evaluation only. Fitted on the *evaluation* log itself, it "predicts" the
  true outcomes, so ``select`` picks the model of best true utility per request: an upper
  bound no deployable router can reach.

Missing outcomes (NaN, e.g. ungraded answers) are ignored in means; a model never
observed gets the mean over all models so predictions are always finite.
Shapes: n requests, d feature dims, M models.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from sklearn.neighbors import NearestNeighbors

from data.matrix import OUTCOMES, BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, argmax_utility, register
from router_model.reward import RewardWeights


def _finite_nanmean(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """``nanmean`` along ``axis`` without warnings; all-NaN slices stay NaN."""
    cnt = np.sum(~np.isnan(a), axis=axis)
    tot = np.nansum(a, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _fill_missing(means: np.ndarray) -> np.ndarray:
    """(4, M) per-outcome means; NaN (model never observed) -> mean over models, else 0."""
    out = means.copy()
    for k in range(out.shape[0]):
        row = out[k]
        fill = _finite_nanmean(row) if np.isfinite(row).any() else 0.0
        row[np.isnan(row)] = fill
    return out


def mean_outcomes(log: FullInfo | BanditLog) -> np.ndarray:
    """Per-model mean of each outcome, (4, M) in ``OUTCOMES`` order, NaN-free.

    For a bandit log this is the naive mean over the rows where the model was chosen
    (biased by the logging policy; good enough for cost/latency profiles).
    """
    M = len(log.models)
    if isinstance(log, FullInfo):
        means = np.stack([_finite_nanmean(getattr(log, o), axis=0) for o in OUTCOMES])
    else:
        means = np.full((len(OUTCOMES), M), np.nan)
        for m in range(M):
            rows = log.action == m
            for k, o in enumerate(OUTCOMES):
                means[k, m] = _finite_nanmean(getattr(log, o)[rows]) if rows.any() else np.nan
    return _fill_missing(means)


def _broadcast(means: np.ndarray, n: int) -> Predictions:
    """(4, M) means -> Predictions with (n, M) copies."""
    mats = [np.broadcast_to(means[k], (n, means.shape[1])).astype(np.float64) for k in range(4)]
    return Predictions(*mats)


def _allowed(mask: np.ndarray | None, n: int, M: int) -> np.ndarray:
    """(n, M) bool allowed matrix from an optional (n, M) or (M,) mask."""
    if mask is None:
        return np.ones((n, M), dtype=bool)
    return np.broadcast_to(np.asarray(mask, dtype=bool), (n, M))


class _MeanPolicy(Policy):
    """Shared base: predictions are the per-model training means."""

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        self.models_ = list(log.models)
        self.means_ = mean_outcomes(log)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        return _broadcast(self.means_, len(X))


@register("random")
class RandomPolicy(_MeanPolicy):
    """Uniform choice over the allowed models (mask only; limits are ignored)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        super().fit(X, log)
        self.rng_ = np.random.default_rng(self.seed)
        return self

    def action_probs(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        ok = _allowed(mask, len(X), len(self.models_)).astype(np.float64)
        k = ok.sum(axis=1, keepdims=True)
        if (k == 0).any():
            raise ValueError("mask: every model is excluded for some request")
        return ok / k

    def select(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        p = self.action_probs(X, w, mask, tasks)
        u = self.rng_.random((len(p), 1))
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1).astype(np.int64)


@register("fixed")
class FixedPolicy(_MeanPolicy):
    """Always ``model``; where the mask excludes it, the best allowed model by mean utility."""

    def __init__(self, model: str) -> None:
        self.model = model

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if self.model not in log.models:
            raise ValueError(f"model: {self.model!r} is not in the log's models {log.models}")
        super().fit(X, log)
        self.index_ = self.models_.index(self.model)
        return self

    def select(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        ok = _allowed(mask, len(X), len(self.models_))
        fallback = argmax_utility(self.predict(X), w, mask)
        return np.where(ok[:, self.index_], self.index_, fallback).astype(np.int64)


@register("cheapest")
class CheapestPolicy(_MeanPolicy):
    """The allowed model with the lowest mean training cost (ties: first in model order)."""

    def select(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        ok = _allowed(mask, len(X), len(self.models_))
        cost = np.where(ok, self.means_[1][None, :], np.inf)
        return np.argmin(cost, axis=1).astype(np.int64)


@register("knn")
class KNNPolicy(Policy):
    """k nearest training queries by cosine distance; predicts their mean outcomes.

    Needs a full-information training log (every model's outcome per neighbour).
    """

    def __init__(self, k: int = 10) -> None:
        if k < 1:
            raise ValueError(f"k: expected >= 1, got {k}")
        self.k = k

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("knn: needs a full-information log (FullInfo), got a BanditLog")
        if len(X) != len(log):
            raise ValueError(f"X: {len(X)} rows but the log has {len(log)} requests")
        self.models_ = list(log.models)
        self.means_ = mean_outcomes(log)
        self.outcomes_ = np.stack([getattr(log, o) for o in OUTCOMES])  # (4, n, M)
        self.nn_ = NearestNeighbors(
            n_neighbors=min(self.k, len(X)), metric="cosine", algorithm="brute"
        ).fit(np.asarray(X, dtype=np.float32))
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        idx = self.nn_.kneighbors(np.asarray(X, dtype=np.float32), return_distance=False)
        mats = []
        for k in range(len(OUTCOMES)):
            m = _finite_nanmean(self.outcomes_[k][idx], axis=1)  # (n, M)
            mats.append(np.where(np.isnan(m), self.means_[k][None, :], m))
        return Predictions(*mats)


@register("task_prior")
class TaskPriorPolicy(Policy):
    """Per-task mean outcome per model; unseen task (or no tasks) -> global mean."""

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("task_prior: needs a full-information log (FullInfo), got a BanditLog")
        self.models_ = list(log.models)
        self.means_ = mean_outcomes(log)
        self.task_means_: dict[str, np.ndarray] = {}
        for t in np.unique(log.tasks.astype(str)):
            sub = log.subset(log.tasks.astype(str) == t)
            raw = np.stack([_finite_nanmean(getattr(sub, o), axis=0) for o in OUTCOMES])
            self.task_means_[str(t)] = np.where(np.isnan(raw), self.means_, raw)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        n, M = len(X), len(self.models_)
        if tasks is None:
            return _broadcast(self.means_, n)
        if len(tasks) != n:
            raise ValueError(f"tasks: {len(tasks)} entries for {n} rows of X")
        out = np.empty((len(OUTCOMES), n, M))
        tasks = np.asarray(tasks).astype(str)
        for t in np.unique(tasks):
            out[:, tasks == t, :] = self.task_means_.get(str(t), self.means_)[:, None, :]
        return Predictions(*out)


@register("oracle")
class OraclePolicy(Policy):
    """Evaluation-only upper bound: knows the true outcomes of the evaluation requests.

    ``fit(X, truth)`` takes the evaluation features and their full-information log.
    ``predict(X)`` returns the true outcomes of those requests: X must be the fitted
    rows (same array, or rows of it, matched by exact feature bytes; rows with identical
    features share the mean of their outcomes). Ungraded quality (NaN) counts as 0 and
    missing cost/latency/energy as +inf-like (1e30), so the oracle never picks them.
    """

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("oracle: needs the full-information evaluation log (FullInfo)")
        if len(X) != len(log):
            raise ValueError(f"X: {len(X)} rows but the log has {len(log)} requests")
        self.models_ = list(log.models)
        self.X_ = np.ascontiguousarray(X)
        q = np.nan_to_num(log.quality, nan=0.0)
        rest = [np.nan_to_num(getattr(log, o), nan=1e30) for o in OUTCOMES[1:]]
        self.truth_ = np.stack([q, *rest])  # (4, n, M)
        self.rows_: dict[bytes, list[int]] = {}
        for i, row in enumerate(self.X_):
            self.rows_.setdefault(row.tobytes(), []).append(i)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        X = np.ascontiguousarray(X, dtype=self.X_.dtype)
        if X.shape == self.X_.shape and np.array_equal(X, self.X_):
            return Predictions(*self.truth_)
        out = np.empty((len(OUTCOMES), len(X), len(self.models_)))
        for i, row in enumerate(X):
            idx = self.rows_.get(row.tobytes())
            if idx is None:
                raise ValueError(f"oracle: row {i} of X is not an evaluation request it knows")
            out[:, i, :] = self.truth_[:, idx, :].mean(axis=1)
        return Predictions(*out)
