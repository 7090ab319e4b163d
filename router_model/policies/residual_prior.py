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
from router_model.policies.fitting import _tensors, batch_loss, run_module
from router_model.policies.outcome_net import (
    Ensemble,
    FitConfig,
    FusedEnsemble,
    OutcomeNet,
    log_scales,
)
from router_model.policies.stacked import EPS, logit
from router_model.policies.supervised import SupervisedPolicy, full_info_targets
from router_model.policies.text_baselines import InferredTaskPriorPolicy


@register("residual_prior")
class ResidualPriorPolicy(Policy):
    """The inferred task prior plus a shrunk, learned per-query logit residual (above)."""

    def __init__(self, residual_l2: float = 0.1, C: float = 1.0, **base: Any) -> None:
        if residual_l2 < 0:
            raise ValueError(f"residual_l2: expected >= 0, got {residual_l2}")
        self.residual_l2, self.C, self.base = residual_l2, C, dict(base)

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("log: the residual-prior policy needs full-information logs")
        if len(X) != len(log):
            raise ValueError(f"X: expected {len(log)} rows to match the log, got {len(X)}")
        self.prior_ = InferredTaskPriorPolicy(self.C).fit(X, log)
        offset = logit(self.prior_.predict(X).quality)  # (n, M)
        cfg = SupervisedPolicy(**self.base).fit_config()
        ens = fit_residual_ensemble(X, log, offset, cfg, self.residual_l2)
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
        return {"residual_l2": self.residual_l2, "C": self.C, **self.base}


def _zero_quality_head(net: OutcomeNet) -> None:
    """Residual starts at zero: the quality rows of the heads (the first M of 4M)."""
    with torch.no_grad():
        net.heads.weight[: net.n_models].zero_()
        net.heads.bias[: net.n_models].zero_()


def _fit_member(net: OutcomeNet, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                offset: torch.Tensor, cfg: FitConfig, residual_l2: float, member: int) -> None:
    """One member: the ensemble's masked multi-task loss with the prior's logit added to
    the quality channel, plus ``residual_l2 * mean(residual^2)``."""
    gen = torch.Generator().manual_seed(cfg.seed + member)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    for epoch in range(cfg.epochs):
        net.train()
        total = 0.0
        for idx in torch.randperm(len(X), generator=gen).split(cfg.batch_size):
            raw = net.raw(X[idx])
            resid = raw[:, 0]
            raw = torch.cat([(resid + offset[idx])[:, None], raw[:, 1:]], dim=1)
            loss = batch_loss(raw, y[idx], w[idx], cfg.regression_weight)
            loss = loss + residual_l2 * (resid ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        cfg.history.append({"epoch": epoch, f"train_loss_m{member}": total / len(X)})
    net.eval()


def fit_residual_ensemble(X: np.ndarray, log: FullInfo, offset: np.ndarray, cfg: FitConfig,
                          residual_l2: float) -> Ensemble:
    """``cfg.n_ensemble`` OutcomeNets whose quality logit is a residual on ``offset``
    (n, M), fitted on X (n, d) float32 and the log's outcomes. Returns them in eval mode."""
    if len(X) == 0:
        raise ValueError("X: expected at least one training row, got 0")
    targets = full_info_targets(log)
    scales = log_scales(targets)
    y, w = _tensors(targets, scales)
    x_mean, x_std = X.mean(0), np.maximum(X.std(0), 1e-4)
    xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    off = torch.from_numpy(offset.astype(np.float32))
    nets = []
    for member in range(cfg.n_ensemble):
        torch.manual_seed(cfg.seed + member)
        net = OutcomeNet(X.shape[1], y.shape[2], cfg, x_mean, x_std, scales)
        _zero_quality_head(net)
        _fit_member(net, xt, y, w, off, cfg, residual_l2, member)
        nets.append(net)
    return Ensemble(nets).eval()


class ResidualPriorModule(nn.Module):
    """features (B, d) -> (quality, cost, latency, energy), each (B, M): the fused
    ensemble's raw outputs with logit(prior) added to each member's quality logit; the
    same arithmetic as ``FusedEnsemble.forward`` otherwise."""

    def __init__(self, fused: FusedEnsemble, prior: InferredTaskPriorPolicy) -> None:
        super().__init__()
        self.fused, self.prior = fused, InferredPriorModule(prior)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f = self.fused
        z = (x - f.get_buffer("x_mean")) / f.get_buffer("x_std")
        r = f.mlp(z).view(-1, f.k, 4, f.n_models)
        p = self.prior(x).clamp(EPS, 1 - EPS)
        off = torch.log(p / (1 - p))  # (B, M)
        quality = torch.sigmoid(r[:, :, 0] + off[:, None]).mean(dim=1)
        y = (torch.exp(r[:, :, 1:] * f.get_buffer("sd") + f.get_buffer("mu"))
             - f.get_buffer("eps")).clamp(min=0.0).mean(dim=1)
        cost, latency, energy = y.split(1, dim=1)
        return quality, cost.squeeze(1), latency.squeeze(1), energy.squeeze(1)

