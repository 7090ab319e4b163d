"""Stronger simple baselines on text embeddings (the suite's comparison set).

- ``knn_shrunk``: the k nearest training queries' mean quality, shrunk toward the
  per-task prior of the query's task tag: q = (k * knn + lam * prior_task) / (k + lam).
- ``inferred_task_prior``: the per-task prior when the task tag is NOT known (real
  traffic): a multinomial logistic regression infers p(task | x), and q = p(task | x) @
  prior (T, M).
- ``logistic``: one L2-regularised logistic regression per model on the standardised
  features (soft targets in [0, 1]: binary cross-entropy), all models at once.

Cost, latency and energy are the per-model training means (``baselines.mean_outcomes``).
Shapes: n requests, d features, M models, T tasks.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from sklearn.linear_model import LogisticRegression

from data.matrix import OUTCOMES, BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.baselines import KNNPolicy, TaskPriorPolicy, mean_outcomes


def _full(log: FullInfo | BanditLog, name: str) -> FullInfo:
    if not isinstance(log, FullInfo):
        raise TypeError(f"{name}: needs a full-information log (FullInfo), got a BanditLog")
    return log


def _with_quality(means: np.ndarray, quality: np.ndarray) -> Predictions:
    """Predictions with the given quality (n, M) and mean other outcomes (4, M)."""
    n, M = quality.shape
    rest = [np.broadcast_to(means[k], (n, M)).astype(np.float64) for k in range(1, 4)]
    return Predictions(np.asarray(quality, dtype=np.float64), *rest)


@register("knn_shrunk")
class KNNShrunkPolicy(Policy):
    """kNN quality shrunk toward the per-task prior (needs ``tasks`` at predict time)."""

    def __init__(self, k: int = 20, lam: float = 10.0) -> None:
        if k < 1 or lam < 0:
            raise ValueError(f"k >= 1 and lam >= 0 expected, got k={k}, lam={lam}")
        self.k, self.lam = k, lam

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        full = _full(log, "knn_shrunk")
        self.knn_ = KNNPolicy(self.k).fit(X, full)
        self.prior_ = TaskPriorPolicy().fit(X, full)
        self.models_ = list(full.models)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        knn, prior = self.knn_.predict(X), self.prior_.predict(X, tasks)
        k = min(self.k, len(self.knn_.outcomes_[0]))
        mats = [(k * getattr(knn, o) + self.lam * getattr(prior, o)) / (k + self.lam)
                for o in OUTCOMES]
        return Predictions(*mats)


@register("knn_inferred")
class KNNInferredPolicy(KNNShrunkPolicy):
    """``knn_shrunk`` without the task tag: shrunk toward the inferred task prior."""

    def __init__(self, k: int = 20, lam: float = 10.0, C: float = 1.0) -> None:
        super().__init__(k, lam)
        self.C = C

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        full = _full(log, "knn_inferred")
        self.knn_ = KNNPolicy(self.k).fit(X, full)
        self.prior_ = InferredTaskPriorPolicy(self.C).fit(X, full)  # type: ignore[assignment]
        self.models_ = list(full.models)
        return self


@register("inferred_task_prior")
class InferredTaskPriorPolicy(Policy):
    """Per-task prior weighted by the inferred task probabilities p(task | x)."""

    def __init__(self, C: float = 1.0, max_iter: int = 500) -> None:
        self.C, self.max_iter = C, max_iter

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        full = _full(log, "inferred_task_prior")
        self.prior_ = TaskPriorPolicy().fit(X, full)
        tasks = full.tasks.astype(str)
        self.tasks_ = np.unique(tasks)
        self.models_ = list(full.models)
        if len(self.tasks_) > 1:
            self.clf_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(X, tasks)
        return self

    def task_probs(self, X: np.ndarray) -> np.ndarray:
        """(n, T) inferred task probabilities, columns in ``tasks_`` order."""
        if len(self.tasks_) == 1:
            return np.ones((len(X), 1))
        p = self.clf_.predict_proba(X)
        cols = [list(self.clf_.classes_).index(t) for t in self.tasks_]
        return p[:, cols]

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        p = self.task_probs(X)  # (n, T)
        table = np.stack([self.prior_.task_means_[str(t)] for t in self.tasks_])  # (T, 4, M)
        mats = np.einsum("nt,tkm->knm", p, table)
        return Predictions(*mats)


@register("logistic")
class LogisticPolicy(Policy):
    """Per-model L2-regularised logistic regression of quality on standardised X (soft
    targets: binary cross-entropy), all models fitted at once by full-batch L-BFGS."""

    def __init__(self, C: float = 1.0, max_iter: int = 200) -> None:
        self.C, self.max_iter = C, max_iter

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        import torch  # lazy: importing the policies package must not load torch
        from torch.nn import functional as F

        full = _full(log, "logistic")
        self.models_ = list(full.models)
        self.means_ = mean_outcomes(full)
        self.mu_, self.sd_ = X.mean(0), np.maximum(X.std(0), 1e-6)
        x = torch.from_numpy(((X - self.mu_) / self.sd_).astype(np.float32))
        q = torch.from_numpy(np.nan_to_num(full.quality, nan=0.0).astype(np.float32))
        ok = torch.from_numpy(np.isfinite(full.quality).astype(np.float32))
        lin = torch.nn.Linear(X.shape[1], len(self.models_))
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=self.max_iter,
                                line_search_fn="strong_wolfe")
        l2 = 1.0 / (self.C * len(X))

        def closure() -> torch.Tensor:
            opt.zero_grad()
            bce = F.binary_cross_entropy_with_logits(lin(x), q, reduction="none")
            loss = (bce * ok).sum() / ok.sum() + l2 * (lin.weight ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.W_, self.b_ = lin.weight.detach().numpy().T, lin.bias.detach().numpy()
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        z = ((X - self.mu_) / self.sd_) @ self.W_ + self.b_
        return _with_quality(self.means_, 1.0 / (1.0 + np.exp(-z)))
