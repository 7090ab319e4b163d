"""Shrinkage toward the inferred task prior: q = alpha * q_base + (1 - alpha) * q_prior.

``q_base`` is the outcome ensemble (``SupervisedPolicy``); ``q_prior`` the per-task prior
weighted by the task inferred from the features (``InferredTaskPriorPolicy``), so real
traffic without task tags gets it. Cost, latency and energy come from the base policy.
Exported as one torch module (``BlendModule``): the ensemble, the task classifier (linear
+ softmax) and the (T, M) prior table. Shapes: n requests, d features, M models, T tasks.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch
from torch import nn

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.supervised import SupervisedPolicy
from router_model.policies.text_baselines import InferredTaskPriorPolicy


@register("blend")
class BlendPolicy(Policy):
    """``alpha`` x the outcome ensemble + (1 - alpha) x the inferred task prior."""

    def __init__(self, alpha: float = 0.5, C: float = 1.0, **base: Any) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha: expected in [0, 1], got {alpha}")
        self.alpha, self.C, self.base = alpha, C, dict(base)

    def partner(self) -> Policy:
        """The (unfitted) policy the ensemble is blended with: the inferred task prior."""
        return InferredTaskPriorPolicy(self.C)

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        self.base_ = SupervisedPolicy(**self.base).fit(X, log)
        self.prior_ = self.partner().fit(X, log)
        self.models_ = list(self.base_.models_)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        b = self.base_.predict(X)
        q = self.alpha * b.quality + (1 - self.alpha) * self.prior_.predict(X).quality
        return Predictions(q, b.cost_usd, b.latency_ms, b.energy_j)

    def torch_module(self) -> nn.Module:
        """features (B, d) -> (quality, cost, latency, energy), each (B, M)."""
        if not isinstance(self.prior_, InferredTaskPriorPolicy):
            raise NotImplementedError(f"{type(self).__name__}: no torch module for a blend "
                                      f"with {type(self.prior_).__name__}")
        return BlendModule(self.base_.torch_module(), self.prior_, self.alpha).eval()

    def params(self) -> dict[str, object]:
        return {"alpha": self.alpha, "C": self.C, **self.base}


class InferredPriorModule(nn.Module):
    """The inferred task prior as a torch module: features (B, d) -> softmax(linear) @ the
    (T, M) prior table, (B, M); the same arithmetic as ``InferredTaskPriorPolicy.predict``
    for quality."""

    def __init__(self, prior: InferredTaskPriorPolicy) -> None:
        super().__init__()
        table = np.stack([prior.prior_.task_means_[str(t)][0] for t in prior.tasks_])
        self.register_buffer("table", torch.from_numpy(table.astype(np.float32)))  # (T, M)
        self.single = len(prior.tasks_) == 1
        if self.single:
            w, b = np.zeros((1, 1)), np.zeros(1)
        else:
            clf = prior.clf_
            order = [list(clf.classes_).index(t) for t in prior.tasks_]
            coef, icpt = clf.coef_, clf.intercept_
            if coef.shape[0] == 1:  # binary: sklearn keeps one row for class 1
                coef, icpt = np.vstack([-coef / 2, coef / 2]), np.r_[-icpt / 2, icpt / 2]
            w, b = coef[order], icpt[order]
        self.clf = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            self.clf.weight.copy_(torch.from_numpy(np.asarray(w, np.float32)))
            self.clf.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.get_buffer("table")
        if self.single:
            return table.expand(x.shape[0], -1)
        return torch.softmax(self.clf(x), dim=1) @ table


class BlendModule(nn.Module):
    """The blend as a torch module (same arithmetic as ``BlendPolicy.predict``)."""

    def __init__(self, base: nn.Module, prior: InferredTaskPriorPolicy, alpha: float) -> None:
        super().__init__()
        self.base, self.alpha = base, float(alpha)
        self.prior = InferredPriorModule(prior)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        q, c, lat, e = self.base(x)
        return self.alpha * q + (1 - self.alpha) * self.prior(x), c, lat, e
