"""Supervised router: learn every model's outcomes from full-information logs.

Per-model heads predict quality (probability of a correct / good answer) and the
cost, latency and energy of the call from the query features; the decision
maximises u(m) = q(m) - w . (cost, latency, energy) under the request's limits.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from torch import nn

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.fitting import fit_ensemble, run_module
from router_model.policies.hparams import SUPERVISED as _D
from router_model.policies.outcome_net import (
    REGRESSED,
    Ensemble,
    EpochCallback,
    FitConfig,
    FusedEnsemble,
    Targets,
)


def full_info_targets(log: FullInfo) -> Targets:
    """Targets with weight 1 wherever an outcome was observed, (n, M) each."""
    values = {"quality": log.quality}
    values.update({name: getattr(log, name) for name in REGRESSED})
    weights = {k: np.isfinite(v).astype(np.float32) for k, v in values.items()}
    return Targets(values, weights)


class OutcomePolicy(Policy):
    """Shared predict / export plumbing for policies backed by an outcome ensemble."""

    module_: nn.Module

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        """Predicted outcomes, (n, M) each, for X (n, d) float32."""
        q, c, lat, e = run_module(self.module_, X)
        return Predictions(q, c, lat, e)

    def torch_module(self) -> nn.Module:
        """features (B, d) -> (quality, cost_usd, latency_ms, energy_j), each (B, M);
        an ensemble is fused into one wide MLP for export (identical outputs)."""
        if isinstance(self.module_, Ensemble) and len(self.module_.nets) > 1:
            return FusedEnsemble(self.module_).eval()
        return self.module_

    def params(self) -> dict[str, object]:
        """Hyper-parameters, for the manifest and the tracker."""
        return {k: v for k, v in vars(self).items()
                if not k.endswith("_") and not callable(v) and k != "on_epoch"}


@register("supervised")
class SupervisedPolicy(OutcomePolicy):
    """MLP ensemble with per-model heads trained on full-information logs."""

    def __init__(self, hidden: int = _D.hidden, depth: int = _D.depth,
                 dropout: float = _D.dropout, epochs: int = _D.epochs,
                 batch_size: int = _D.batch_size, lr: float = _D.lr,
                 weight_decay: float = _D.weight_decay, n_ensemble: int = _D.n_ensemble,
                 regression_weight: float = _D.regression_weight, seed: int = _D.seed,
                 on_epoch: EpochCallback | None = None) -> None:
        self.hidden, self.depth, self.dropout = hidden, depth, dropout
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.weight_decay, self.n_ensemble = weight_decay, n_ensemble
        self.regression_weight, self.seed = regression_weight, seed
        self.on_epoch = on_epoch

    def fit_config(self) -> FitConfig:
        return FitConfig(self.hidden, self.depth, self.dropout, self.epochs, self.batch_size,
                         self.lr, self.weight_decay, self.n_ensemble,
                         self.regression_weight, self.seed)

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        """Fit on X (n, d) and a FullInfo log with n rows."""
        if not isinstance(log, FullInfo):
            raise TypeError("log: the supervised policy needs full-information logs "
                            "(FullInfo); use policy=offpolicy for bandit logs")
        if len(X) != len(log):
            raise ValueError(f"X: expected {len(log)} rows to match the log, got {len(X)}")
        cfg = self.fit_config()
        X_fit, targets = self.training_rows(X, log)
        self.module_ = fit_ensemble(X_fit, targets, cfg, self.on_epoch)
        self.models_ = list(log.models)
        self.history_ = cfg.history
        return self

    def training_rows(self, X: np.ndarray, log: FullInfo) -> tuple[np.ndarray, Targets]:
        """The rows the ensemble is fitted on: X (n, d) and the log's targets (a subclass
        may add rows, e.g. ``JointPolicy``)."""
        return X, full_info_targets(log)
