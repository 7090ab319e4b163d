"""Per-model outcome network shared by the supervised and off-policy learners.

An MLP body on standardised query features with four per-model heads: quality
(sigmoid of a logit, trained with soft binary cross-entropy) and cost / latency /
energy (regressed in standardised log space, ``log(y + eps)``). Several seeds can be
averaged (``Ensemble``); everything is a torch module so it exports to ONNX.
Shapes: B requests, d features, M models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from router_model.policies.hparams import OutcomeHParams

LOG_EPS = {"cost_usd": 1e-7, "latency_ms": 1e-3, "energy_j": 1e-3}
REGRESSED = ("cost_usd", "latency_ms", "energy_j")
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class Targets:
    """Training targets, each (n, M) float32, with per-cell weights (0 = unobserved).

    Attributes:
        values: outcome name -> (n, M) targets (NaN allowed where weight is 0).
        weights: outcome name -> (n, M) non-negative sample weights.
    """

    values: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]


@dataclass
class LogScale:
    """Per-model mean/std of log(y + eps) for one regressed outcome, (M,) each."""

    mean: np.ndarray
    std: np.ndarray


@dataclass
class FitConfig(OutcomeHParams):
    """Optimisation settings: the hyper-parameters (defaults in ``policies.hparams``) plus
    the per-epoch history the fit appends to."""

    history: list[dict[str, float]] = field(default_factory=list)


class OutcomeNet(nn.Module):
    """features (B, d) -> quality, cost_usd, latency_ms, energy_j, each (B, M)."""

    def __init__(self, d_in: int, n_models: int, cfg: FitConfig, x_mean: np.ndarray,
                 x_std: np.ndarray, scales: dict[str, LogScale]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = d_in
        for _ in range(cfg.depth):
            layers += [nn.Linear(width, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout)]
            width = cfg.hidden
        self.body = nn.Sequential(*layers)
        self.heads = nn.Linear(width, 4 * n_models)
        self.n_models = n_models
        self.register_buffer("x_mean", torch.from_numpy(x_mean.astype(np.float32)))
        self.register_buffer("x_std", torch.from_numpy(x_std.astype(np.float32)))
        for name in REGRESSED:
            self.register_buffer(f"{name}_mu", torch.from_numpy(scales[name].mean))
            self.register_buffer(f"{name}_sd", torch.from_numpy(scales[name].std))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 4, M): quality logit and three standardised log outcomes."""
        h = self.body((x - self.get_buffer("x_mean")) / self.get_buffer("x_std"))
        return self.heads(h).view(-1, 4, self.n_models)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        r = self.raw(x)
        outs = [torch.sigmoid(r[:, 0])]
        for k, name in enumerate(REGRESSED, start=1):
            mu, sd = self.get_buffer(f"{name}_mu"), self.get_buffer(f"{name}_sd")
            outs.append((torch.exp(r[:, k] * sd + mu) - LOG_EPS[name]).clamp(min=0.0))
        return tuple(outs)


class Ensemble(nn.Module):
    """Mean of several OutcomeNets' outputs."""

    def __init__(self, nets: list[OutcomeNet]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = [net(x) for net in self.nets]
        return tuple(torch.stack(o).mean(dim=0) for o in zip(*outs, strict=True))


def log_scales(t: Targets) -> dict[str, LogScale]:
    """Per-model mean/std of the log targets over observed cells."""
    scales = {}
    for name in REGRESSED:
        y = np.log(np.nan_to_num(t.values[name], nan=0.0) + LOG_EPS[name])
        w = (t.weights[name] > 0) & np.isfinite(t.values[name])
        cnt = np.maximum(w.sum(0), 1)
        mu = np.where(w, y, 0).sum(0) / cnt
        sd = np.sqrt(np.where(w, (y - mu) ** 2, 0).sum(0) / cnt)
        scales[name] = LogScale(mu.astype(np.float32), np.maximum(sd, 1e-3).astype(np.float32))
    return scales


class FusedEnsemble(nn.Module):
    """An ``Ensemble`` rewritten as one wide MLP (same outputs, far fewer ONNX nodes).

    Layer 1 stacks the members' weights (K*h, d); deeper layers and the heads are
    block-diagonal, so member k only sees its own hidden units. Outputs are transformed
    per member (sigmoid / exp) and then averaged, exactly as ``Ensemble`` does.
    """

    def __init__(self, ens: Ensemble) -> None:
        super().__init__()
        nets = [n for n in ens.nets if isinstance(n, OutcomeNet)]
        first = nets[0]
        self.k, self.n_models = len(nets), first.n_models
        linears = [[m for m in net.body.children() if isinstance(m, nn.Linear)] + [net.heads]
                   for net in nets]
        layers: list[nn.Module] = []
        for depth, group in enumerate(zip(*linears, strict=True)):
            fused = nn.Linear(group[0].in_features * (1 if depth == 0 else self.k),
                              sum(g.out_features for g in group))
            with torch.no_grad():
                w = torch.cat([g.weight for g in group]) if depth == 0 else \
                    torch.block_diag(*[g.weight for g in group])
                fused.weight.copy_(w)
                fused.bias.copy_(torch.cat([g.bias for g in group]))
            layers += [fused, nn.GELU()]
        self.mlp = nn.Sequential(*layers[:-1])  # no activation after the heads
        for name in ("x_mean", "x_std"):
            self.register_buffer(name, first.get_buffer(name).clone())
        for stat in ("mu", "sd"):  # (3, M), rows in REGRESSED order
            self.register_buffer(stat, torch.stack([first.get_buffer(f"{o}_{stat}")
                                                    for o in REGRESSED]).clone())
        self.register_buffer("eps", torch.tensor([[LOG_EPS[o]] for o in REGRESSED]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.outputs(x)

    def outputs(self, x: torch.Tensor, quality_offset: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, ...]:
        """x (B, d) -> (quality, cost, latency, energy), each (B, M); ``quality_offset``
        (B, M) is added to every member's quality logit (a residual model's prior)."""
        z = (x - self.get_buffer("x_mean")) / self.get_buffer("x_std")
        r = self.mlp(z).view(-1, self.k, 4, self.n_models)
        q_logit = r[:, :, 0] if quality_offset is None else r[:, :, 0] + quality_offset[:, None]
        quality = torch.sigmoid(q_logit).mean(dim=1)
        # the three regressed outcomes in one pass (B, K, 3, M): a third of the ONNX nodes
        # that one pass per outcome needs (each node costs ~1-4 us in ONNX Runtime)
        y = (torch.exp(r[:, :, 1:] * self.get_buffer("sd") + self.get_buffer("mu"))
             - self.get_buffer("eps")).clamp(min=0.0).mean(dim=1)
        cost, latency, energy = y.split(1, dim=1)
        return quality, cost.squeeze(1), latency.squeeze(1), energy.squeeze(1)
