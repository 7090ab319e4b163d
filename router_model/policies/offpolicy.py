"""Off-policy router learned from partial-feedback (bandit) logs.

Each logged request carries one chosen model ``a_i``, its propensity ``p_i`` and that
model's outcome ``r_i``. Two estimators:

- ``ips``: importance-weighted regression. Each model's heads are fitted only on the
  requests where it was chosen, weighted by ``min(1 / p_i, clip)``, which undoes the
  logging policy's selection bias (the re-weighted sample looks like uniform traffic).
- ``dr``: doubly robust. A direct-method model ``q_hat`` is fitted on the logged cells,
  then every (request, model) cell gets the pseudo-outcome
  ``q_hat(x_i, m) + 1[m = a_i] * min(1 / p_i, clip) * (r_i - q_hat(x_i, a_i))``
  (clipped to [0, 1]) and the final heads regress on all cells.

Cost, latency and energy heads are always fitted on logged cells with IPS weights.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import register
from router_model.policies.fitting import fit_ensemble, run_module
from router_model.policies.hparams import OFF_POLICY as _D
from router_model.policies.outcome_net import REGRESSED, EpochCallback, Targets
from router_model.policies.supervised import SupervisedPolicy

ESTIMATORS = ("ips", "dr")  # defaults: policies/hparams.py


def check_bandit_log(X: np.ndarray, log: BanditLog) -> None:
    """Reject logs the estimators cannot use (with the offending field and row)."""
    if len(X) != len(log):
        raise ValueError(f"X: expected {len(log)} rows to match the log, got {len(X)}")
    p = log.propensity
    bad = np.flatnonzero(~np.isfinite(p) | (p <= 0) | (p > 1))
    if len(bad):
        raise ValueError(f"propensity: row {bad[0]} has {p[bad[0]]!r}; expected (0, 1]")
    out = np.flatnonzero((log.action < 0) | (log.action >= len(log.models)))
    if len(out):
        raise ValueError(f"action: row {out[0]} is {log.action[out[0]]}, outside the models")


def logged_targets(log: BanditLog, weight: np.ndarray) -> Targets:
    """(n, M) targets holding the logged outcome in the chosen cell only."""
    n, m = len(log), len(log.models)
    rows = np.arange(n)
    values, weights = {}, {}
    for name in ("quality", *REGRESSED):
        v = np.full((n, m), np.nan)
        v[rows, log.action] = getattr(log, name)
        w = np.zeros((n, m), dtype=np.float32)
        w[rows, log.action] = weight
        values[name], weights[name] = v, w
    return Targets(values, weights)


@register("offpolicy")
class OffPolicyPolicy(SupervisedPolicy):
    """Outcome ensemble learned from bandit logs (IPS or doubly robust targets)."""

    def __init__(self, estimator: str = _D.estimator, clip: float = _D.clip,
                 hidden: int = _D.hidden, depth: int = _D.depth, dropout: float = _D.dropout,
                 epochs: int = _D.epochs, batch_size: int = _D.batch_size, lr: float = _D.lr,
                 weight_decay: float = _D.weight_decay, n_ensemble: int = _D.n_ensemble,
                 regression_weight: float = _D.regression_weight, seed: int = _D.seed,
                 on_epoch: EpochCallback | None = None) -> None:
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator: expected one of {ESTIMATORS}, got {estimator!r}")
        if not clip >= 1.0:
            raise ValueError(f"clip: expected >= 1, got {clip!r}")
        super().__init__(hidden, depth, dropout, epochs, batch_size, lr, weight_decay,
                         n_ensemble, regression_weight, seed, on_epoch)
        self.estimator, self.clip = estimator, clip

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        """Fit on X (n, d) and a BanditLog with n rows."""
        if not isinstance(log, BanditLog):
            raise TypeError("log: the off-policy learner needs a BanditLog (one logged "
                            "model per request with its propensity)")
        check_bandit_log(X, log)
        iw = np.minimum(1.0 / log.propensity, self.clip).astype(np.float32)
        cfg = self.fit_config()
        if self.estimator == "ips":
            self.module_ = fit_ensemble(X, logged_targets(log, iw), cfg, self.on_epoch)
        else:
            dm = fit_ensemble(X, logged_targets(log, np.ones(len(log), np.float32)), cfg)
            self.module_ = fit_ensemble(X, self._dr_targets(X, log, iw, dm), cfg,
                                        self.on_epoch)
        self.models_ = list(log.models)
        self.history_ = cfg.history
        return self

    @staticmethod
    def _dr_targets(X: np.ndarray, log: BanditLog, iw: np.ndarray, dm: object) -> Targets:
        """Doubly robust pseudo-qualities on every cell; other outcomes IPS-weighted."""
        q_hat = run_module(dm, X)[0]  # type: ignore[arg-type]
        rows = np.arange(len(log))
        q = q_hat.copy()
        q[rows, log.action] += iw * (log.quality - q_hat[rows, log.action])
        t = logged_targets(log, iw)
        t.values["quality"] = np.clip(q, 0.0, 1.0)
        t.weights["quality"] = np.ones_like(q, dtype=np.float32)
        return t
