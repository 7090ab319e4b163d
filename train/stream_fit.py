"""Training an outcome ensemble from a ``FeatureStore`` chunk by chunk, in one process or
several (torch DDP, ``train/distributed.py``), with the same result.

Every process reads every chunk in the same seeded order and cuts it into the same global
minibatches of ``batch_size`` rows; process r computes rows r, r+W, ... of each. The loss
of ``router_model.policies.fitting.batch_loss`` is a ratio (weighted sums over the
minibatch's weights); each process divides its part of the numerators by the *global*
minibatch's weight sums (it holds the whole chunk) and multiplies by W, so DDP's mean of
the gradients is exactly the gradient of the global minibatch's loss: W processes follow
the single-process trajectory up to float summation order. (Dropout masks are drawn per
process, so bit-for-bit agreement needs ``dropout: 0``; with dropout the runs differ as
two seeds do.) Memory: one chunk at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from router_model.policies.outcome_net import (
    Ensemble,
    EpochCallback,
    FitConfig,
    LogScale,
    OutcomeNet,
)
from train.distributed import Dist
from train.stream_prep import FeatureStore

log = logging.getLogger(__name__)


class RawOutputs(nn.Module):
    """``net.raw`` as ``forward`` (what DDP wraps: it hooks ``forward`` only)."""

    def __init__(self, net: OutcomeNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.raw(x)


def loss_part(raw: torch.Tensor, y: torch.Tensor, w: torch.Tensor, den_q: torch.Tensor,
              den_r: torch.Tensor, regression_weight: float) -> torch.Tensor:
    """This process's share of ``batch_loss`` over the global minibatch: the same weighted
    BCE + MSE numerators, divided by the global minibatch's weight sums ``den_q`` (channel
    0) and ``den_r`` (channels 1..3). raw, y, w: (b, 4, M)."""
    bce = F.binary_cross_entropy_with_logits(raw[:, 0], y[:, 0], reduction="none")
    q = (bce * w[:, 0]).sum() / den_q.clamp(min=1e-6)
    r = (((raw[:, 1:] - y[:, 1:]) ** 2) * w[:, 1:]).sum() / den_r.clamp(min=1e-6)
    return q + regression_weight * r


def _epoch(model: nn.Module, opt: torch.optim.Optimizer, store: FeatureStore, n_chunks: int,
           cfg: FitConfig, gen: torch.Generator, dist: Dist) -> tuple[float, float]:
    """One pass over every chunk; returns (summed loss x rows, rows) of this process."""
    total, seen = 0.0, 0.0
    for c in torch.randperm(n_chunks, generator=gen).tolist():
        X, y, w = store.load(c)
        for idx in torch.randperm(len(X), generator=gen).split(cfg.batch_size):
            mine = idx[dist.rank::dist.world]
            den_q, den_r = w[idx, 0].sum(), w[idx, 1:].sum()
            loss = loss_part(model(X[mine]), y[mine], w[mine], den_q, den_r,
                             cfg.regression_weight) * dist.world
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) / dist.world * len(idx)
            seen += len(idx) / dist.world
    return total, seen


def fit_stream(store: FeatureStore, n_chunks: int, n_models: int, x_mean: np.ndarray,
               x_std: np.ndarray, scales: dict[str, LogScale], cfg: FitConfig, dist: Dist,
               on_epoch: EpochCallback | None = None,
               progress: Callable[[str], None] = lambda s: None) -> Ensemble:
    """``cfg.n_ensemble`` OutcomeNets trained over the store's chunks (see module)."""
    if n_chunks < 1:
        raise ValueError("data: no training requests (every request fell in validation?)")
    nets = []
    for member in range(cfg.n_ensemble):
        torch.manual_seed(cfg.seed + member)  # the same initial weights in every process
        net = OutcomeNet(len(x_mean), n_models, cfg, x_mean, x_std, scales)
        model = dist.wrap(RawOutputs(net))
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
        gen = torch.Generator().manual_seed(cfg.seed + member)
        for epoch in range(cfg.epochs):
            net.train()
            part = torch.tensor(_epoch(model, opt, store, n_chunks, cfg, gen, dist),
                                dtype=torch.float64)
            total, seen = dist.all_sum(part).tolist()
            sched.step()
            metrics = {f"train_loss_m{member}": total / max(seen, 1.0)}
            cfg.history.append({"epoch": epoch, **metrics})
            progress(f"member {member + 1}/{cfg.n_ensemble} epoch {epoch + 1}/{cfg.epochs}: "
                     f"loss {metrics[f'train_loss_m{member}']:.4f}")
            if on_epoch is not None:
                on_epoch(epoch, metrics)
        nets.append(net.eval())
    return Ensemble(nets).eval()
