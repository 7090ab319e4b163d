"""Stacking in logit space: per model, q_m = sigmoid(a_m z_base + b_m z_prior + c_m).

``z_base`` is the logit of the outcome ensemble's predicted quality (``SupervisedPolicy``),
``z_prior`` the logit of the inferred task prior (``InferredTaskPriorPolicy``: real traffic
carries no task tag). The (a, b, c) of each model are a logistic regression fitted on
cross-fitted predictions (each training row predicted by components that did not see it),
so they learn how far to trust each view per model and recalibrate it; ``use_prior=False``
is Platt calibration of the ensemble alone. The components are then refitted on all rows.
Cost, latency and energy come from the ensemble. Shapes: n requests, d features, M models.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.model_selection import StratifiedKFold
from torch import nn

from data.matrix import BanditLog, FullInfo
from router_model.policies.base import Policy, Predictions, register
from router_model.policies.blend import InferredPriorModule
from router_model.policies.supervised import SupervisedPolicy
from router_model.policies.text_baselines import InferredTaskPriorPolicy

EPS = 1e-4  # probabilities are clipped to [EPS, 1 - EPS] before the logit


def logit(p: np.ndarray) -> np.ndarray:
    """Clipped logit, elementwise."""
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def fit_soft_logistic(Z: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Logistic regression with soft targets y in [0, 1]: Z (n, k) -> coefficients (k + 1,)
    (the last is the intercept), L2 penalty ``l2`` on the slopes, by L-BFGS."""
    A = np.hstack([Z, np.ones((len(Z), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = A @ w
        nll = np.logaddexp(0.0, s) - y * s
        g = A.T @ (1 / (1 + np.exp(-s)) - y) / len(y)
        pen = np.r_[w[:-1], 0.0]
        return float(nll.mean() + 0.5 * l2 * pen @ pen), g + l2 * pen

    w0 = np.r_[np.ones(Z.shape[1]) / Z.shape[1], 0.0]
    return np.asarray(minimize(loss, w0, jac=True, method="L-BFGS-B").x)


@register("stacked")
class StackedPolicy(Policy):
    """Per-model logistic stacking of the ensemble and the inferred task prior (above)."""

    def __init__(self, n_folds: int = 3, use_prior: bool = True, C: float = 1.0,
                 l2: float = 1e-3, seed: int = 0, **base: Any) -> None:
        if n_folds < 2:
            raise ValueError(f"n_folds: expected >= 2, got {n_folds}")
        self.n_folds, self.use_prior, self.C, self.l2, self.seed = (n_folds, use_prior, C,
                                                                   l2, seed)
        self.base = dict(base)

    def _components(self, X: np.ndarray, log: FullInfo
                    ) -> tuple[SupervisedPolicy, InferredTaskPriorPolicy | None]:
        base = SupervisedPolicy(**self.base).fit(X, log)
        prior = InferredTaskPriorPolicy(self.C).fit(X, log) if self.use_prior else None
        return base, prior

    def _views(self, X: np.ndarray, base: SupervisedPolicy,
               prior: InferredTaskPriorPolicy | None) -> list[np.ndarray]:
        views = [logit(base.predict(X).quality)]
        if prior is not None:
            views.append(logit(prior.predict(X).quality))
        return views  # each (n, M)

    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        if not isinstance(log, FullInfo):
            raise TypeError("log: the stacked policy needs full-information logs (FullInfo)")
        n, M = log.quality.shape
        oof = np.zeros((1 + int(self.use_prior), n, M))
        for tr, va in task_folds(log.tasks, self.n_folds, self.seed):
            oof[:, va] = np.stack(self._views(X[va], *self._components(X[tr], log.subset(tr))))
        self.coef_ = np.zeros((M, oof.shape[0] + 1))
        for m in range(M):
            ok = np.isfinite(log.quality[:, m])
            self.coef_[m] = fit_soft_logistic(oof[:, ok, m].T, log.quality[ok, m], self.l2)
        self.base_, self.prior_ = self._components(X, log)
        self.models_ = list(log.models)
        return self

    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        b = self.base_.predict(X)
        z = np.stack(self._views(X, self.base_, self.prior_), -1)  # (n, M, k)
        s = (z * self.coef_[None, :, :-1]).sum(-1) + self.coef_[None, :, -1]
        return Predictions(1 / (1 + np.exp(-s)), b.cost_usd, b.latency_ms, b.energy_j)

    def torch_module(self) -> nn.Module:
        """features (B, d) -> (quality, cost, latency, energy), each (B, M)."""
        return StackedModule(self.base_.torch_module(), self.prior_, self.coef_).eval()

    def params(self) -> dict[str, object]:
        return {"n_folds": self.n_folds, "use_prior": self.use_prior, "C": self.C,
                "l2": self.l2, "seed": self.seed, **self.base}


def task_folds(tasks: np.ndarray, n_folds: int, seed: int
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) index pairs over n rows: stratified by task where every task has
    >= 2 rows (at most ``n_folds`` folds), else plain shuffled folds."""
    t = tasks.astype(str)
    _, counts = np.unique(t, return_counts=True)
    k = int(min(n_folds, counts.min())) if counts.min() >= 2 else 0
    if k >= 2:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(t, t))
    return _plain_folds(len(t), n_folds, seed)


def _plain_folds(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, k)
    return [(np.setdiff1d(order, p), p) for p in parts]


class StackedModule(nn.Module):
    """The stack as a torch module (same arithmetic as ``StackedPolicy.predict``)."""

    def __init__(self, base: nn.Module, prior: InferredTaskPriorPolicy | None,
                 coef: np.ndarray) -> None:
        super().__init__()
        self.base = base
        self.prior = InferredPriorModule(prior) if prior is not None else None
        self.register_buffer("coef", torch.from_numpy(coef.astype(np.float32)))  # (M, k+1)

    @staticmethod
    def _logit(p: torch.Tensor) -> torch.Tensor:
        p = p.clamp(EPS, 1 - EPS)
        return torch.log(p / (1 - p))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        q, c, lat, e = self.base(x)
        coef = self.get_buffer("coef")
        s = coef[:, 0] * self._logit(q) + coef[:, -1]
        if self.prior is not None:
            s = s + coef[:, 1] * self._logit(self.prior(x))
        return torch.sigmoid(s), c, lat, e
