"""Residual on the inferred task prior: q_m(x) = sigmoid(logit(prior_m(x)) + r_m(x)).

``prior_m(x)`` is the per-task prior weighted by the task inferred from the features
(``InferredTaskPriorPolicy``: real traffic carries no task tag); ``r_m(x)`` the quality
channel of an outcome ensemble (``OutcomeNet``) whose quality head starts at zero and is
shrunk toward zero by ``residual_l2 * mean(r^2)`` on top of AdamW's weight decay. With the
residual at zero the policy *is* the inferred prior (``epochs=0`` gives exactly that); the
net only learns per-query deviations from it. Cost, latency and energy come from the same
ensemble's other heads (no offset). Members are averaged after the sigmoid, as in
``Ensemble``. Exported as one torch module (``ResidualPriorModule``: the fused ensemble and
the prior as ``InferredPriorModule``). Shapes: n requests, d features, M models.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch
from torch import nn

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.blend import InferredPriorModule
from router_model.policies.fitting import fit_ensemble, run_module
from router_model.policies.outcome_net import FusedEnsemble
from router_model.policies.stacked import EPS, logit, task_folds
from router_model.policies.supervised import SupervisedPolicy, full_info_targets
from router_model.policies.text_baselines import InferredTaskPriorPolicy


@register("residual_prior")
class ResidualPriorPolicy(Policy):
    """The inferred task prior plus a shrunk, learned per-query logit residual (above)."""

    def __init__(self, residual_l2: float = 0.1, C: float = 1.0, cross_fit: int = 0,
                 **base: Any) -> None:
        if residual_l2 < 0:
            raise ValueError(f"residual_l2: expected >= 0, got {residual_l2}")
        if cross_fit == 1 or cross_fit < 0:
            raise ValueError(f"cross_fit: expected 0 (off) or >= 2 folds, got {cross_fit}")
        self.residual_l2, self.C, self.cross_fit = residual_l2, C, cross_fit
        self.base = dict(base)

    def _offset(self, X: np.ndarray, log: FullInfo) -> np.ndarray:
        """(n, M) logit of the prior on the training rows: in-sample, or with
        ``cross_fit`` folds each row's from a prior fitted without it (as at test time)."""
        if not self.cross_fit:
            return logit(self.prior_.predict(X).quality)
        out = np.zeros(log.quality.shape)
        for tr, va in task_folds(log.tasks, self.cross_fit, 0):
            prior = InferredTaskPriorPolicy(self.C).fit(X[tr], log.subset(tr))
            out[va] = logit(prior.predict(X[va]).quality)
        return out

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("log: the residual-prior policy needs full-information logs")
        if len(X) != len(log):
            raise ValueError(f"X: expected {len(log)} rows to match the log, got {len(X)}")
        self.prior_ = InferredTaskPriorPolicy(self.C).fit(X, log)
        offset = self._offset(X, log)  # (n, M)
        cfg = SupervisedPolicy(**self.base).fit_config()
        ens = fit_ensemble(X, full_info_targets(log), cfg, offset=offset,
                           residual_l2=self.residual_l2)
        self.module_ = ResidualPriorModule(FusedEnsemble(ens), self.prior_).eval()
        self.models_ = list(log.models)
        self.history_ = cfg.history
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        q, c, lat, e = run_module(self.module_, X)
        return Predictions(q, c, lat, e)

    def torch_module(self) -> nn.Module:
        """features (B, d) -> (quality, cost, latency, energy), each (B, M)."""
        return self.module_

    def params(self) -> dict[str, object]:
        return {"residual_l2": self.residual_l2, "C": self.C, "cross_fit": self.cross_fit,
                **self.base}


class ResidualPriorModule(nn.Module):
    """features (B, d) -> (quality, cost, latency, energy), each (B, M): the fused
    ensemble's outputs with logit(prior) added to each member's quality logit."""

    def __init__(self, fused: FusedEnsemble, prior: InferredTaskPriorPolicy) -> None:
        super().__init__()
        self.fused, self.prior = fused, InferredPriorModule(prior)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p = self.prior(x).clamp(EPS, 1 - EPS)
        return self.fused.outputs(x, torch.log(p / (1 - p)))
