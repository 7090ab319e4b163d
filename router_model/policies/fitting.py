"""Training loop for ``OutcomeNet`` ensembles (masked, weighted multi-task loss).

loss = BCE(quality logit, soft quality target) + regression_weight * MSE(standardised
log cost / latency / energy), each averaged over the cells with weight > 0 and
scaled by those weights (1 for full information; importance weights for bandit logs).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from router_model.policies.outcome_net import (
    LOG_EPS,
    REGRESSED,
    Ensemble,
    EpochCallback,
    FitConfig,
    OutcomeNet,
    Targets,
    log_scales,
)

log = logging.getLogger(__name__)


def _tensors(t: Targets, scales: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack targets and weights into (n, 4, M) tensors (NaN cells get weight 0)."""
    ys, ws = [], []
    for name in ("quality", *REGRESSED):
        v, w = t.values[name].astype(np.float64), t.weights[name].astype(np.float64)
        ok = np.isfinite(v) & (w > 0)
        if name != "quality":
            v = (np.log(np.where(ok, v, 0.0) + LOG_EPS[name]) - scales[name].mean) \
                / scales[name].std
        ys.append(np.where(ok, v, 0.0))
        ws.append(np.where(ok, w, 0.0))
    y = torch.from_numpy(np.stack(ys, 1).astype(np.float32))
    return y, torch.from_numpy(np.stack(ws, 1).astype(np.float32))


def batch_loss(raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
               regression_weight: float) -> torch.Tensor:
    """raw, y, w: (B, 4, M). Weighted BCE on channel 0 + weighted MSE on 1..3."""
    bce = F.binary_cross_entropy_with_logits(raw[:, 0], y[:, 0], reduction="none")
    q = (bce * w[:, 0]).sum() / w[:, 0].sum().clamp(min=1e-6)
    mse = (raw[:, 1:] - y[:, 1:]) ** 2
    r = (mse * w[:, 1:]).sum() / w[:, 1:].sum().clamp(min=1e-6)
    return q + regression_weight * r


def _member_loss(net: OutcomeNet, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                 cfg: FitConfig, offset: torch.Tensor | None, residual_l2: float
                 ) -> torch.Tensor:
    """One batch's loss; with ``offset`` (B, M) the quality logit is ``offset + r`` and
    ``residual_l2 * mean(r^2)`` is added (a residual shrunk toward the offset)."""
    raw = net.raw(X)
    if offset is None:
        return batch_loss(raw, y, w, cfg.regression_weight)
    resid = raw[:, 0]
    raw = torch.cat([(resid + offset)[:, None], raw[:, 1:]], dim=1)
    return batch_loss(raw, y, w, cfg.regression_weight) + residual_l2 * (resid ** 2).mean()


def _fit_one(net: OutcomeNet, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
             cfg: FitConfig, member: int, on_epoch: EpochCallback | None,
             offset: torch.Tensor | None = None, residual_l2: float = 0.0) -> None:
    gen = torch.Generator().manual_seed(cfg.seed + member)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    bar = tqdm(range(cfg.epochs), desc=f"train member {member + 1}/{cfg.n_ensemble}",
               unit="epoch", disable=cfg.epochs < 5)
    for epoch in bar:
        net.train()
        total, seen = 0.0, 0
        for idx in torch.randperm(len(X), generator=gen).split(cfg.batch_size):
            off = None if offset is None else offset[idx]
            loss = _member_loss(net, X[idx], y[idx], w[idx], cfg, off, residual_l2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        sched.step()
        metrics = {f"train_loss_m{member}": total / max(seen, 1)}
        cfg.history.append({"epoch": epoch, **metrics})
        bar.set_postfix(loss=f"{total / max(seen, 1):.4f}")
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    net.eval()


def _zero_quality_head(net: OutcomeNet) -> None:
    """A residual starts at zero: the quality rows of the heads (the first M of 4M)."""
    with torch.no_grad():
        net.heads.weight[: net.n_models].zero_()
        net.heads.bias[: net.n_models].zero_()


def fit_ensemble(X: np.ndarray, t: Targets, cfg: FitConfig,
                 on_epoch: EpochCallback | None = None, offset: np.ndarray | None = None,
                 residual_l2: float = 0.0) -> Ensemble:
    """Fit ``cfg.n_ensemble`` OutcomeNets on X (n, d) float32 and targets (n, M).

    With ``offset`` (n, M) each net's quality logit is a residual on it: the quality head
    starts at zero and is shrunk by ``residual_l2 * mean(r^2)``; the caller adds the
    offset at prediction time (``FusedEnsemble.outputs(x, offset)``).
    Returns the averaged ensemble in eval mode.
    """
    if len(X) == 0:
        raise ValueError("X: expected at least one training row, got 0")
    scales = log_scales(t)
    y, w = _tensors(t, scales)
    x_mean, x_std = X.mean(0), np.maximum(X.std(0), 1e-4)
    xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    off = None if offset is None else torch.from_numpy(offset.astype(np.float32))
    nets = []
    for member in range(cfg.n_ensemble):
        torch.manual_seed(cfg.seed + member)
        net = OutcomeNet(X.shape[1], y.shape[2], cfg, x_mean, x_std, scales)
        if off is not None:
            _zero_quality_head(net)
        _fit_one(net, xt, y, w, cfg, member, on_epoch, off, residual_l2)
        nets.append(net)
    return Ensemble(nets).eval()


@torch.inference_mode()
def run_module(module: torch.nn.Module, X: np.ndarray, batch: int = 8192) -> list[np.ndarray]:
    """Apply an outcome module to X (n, d) in batches -> 4 arrays (n, M) float64."""
    parts = [module(torch.from_numpy(np.ascontiguousarray(X[i:i + batch], dtype=np.float32)))
             for i in range(0, len(X), batch)]
    return [torch.cat([p[k] for p in parts]).double().numpy() for k in range(4)]
