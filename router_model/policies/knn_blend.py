"""Blend of the outcome ensemble with the tag-free kNN: q = alpha q_mlp + (1 - alpha) q_knn.

``q_mlp`` is the outcome ensemble (``SupervisedPolicy``); ``q_knn`` is ``knn_inferred``
(the k nearest training queries' mean quality shrunk toward the inferred task prior, so no
task tag is read). The suite tunes ``alpha`` (and k, lam) on each split's validation part.
Cost, latency and energy come from the ensemble. Evaluation only: no torch module (the
kNN needs the training set's features at request time). Shapes: n requests, M models.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.supervised import SupervisedPolicy
from router_model.policies.text_baselines import KNNInferredPolicy


@register("blend_knn")
class KNNBlendPolicy(Policy):
    """``alpha`` x the outcome ensemble + (1 - alpha) x ``knn_inferred``."""

    def __init__(self, alpha: float = 0.5, k: int = 40, lam: float = 20.0, C: float = 10.0,
                 **base: Any) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha: expected in [0, 1], got {alpha}")
        self.alpha, self.k, self.lam, self.C, self.base = alpha, k, lam, C, dict(base)

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        self.base_ = SupervisedPolicy(**self.base).fit(X, log)
        self.knn_ = KNNInferredPolicy(self.k, self.lam, self.C).fit(X, log)
        self.models_ = list(self.base_.models_)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        b = self.base_.predict(X)
        q = self.alpha * b.quality + (1 - self.alpha) * self.knn_.predict(X).quality
        return Predictions(q, b.cost_usd, b.latency_ms, b.energy_j)

    def params(self) -> dict[str, object]:
        return {"alpha": self.alpha, "k": self.k, "lam": self.lam, "C": self.C, **self.base}
