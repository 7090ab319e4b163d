"""Policy ABC and registry.

A policy maps query features to per-model predictions and a choice of model. It
follows scikit-learn conventions: hyper-parameters in ``__init__``, fitted state in
attributes ending in ``_``, ``fit`` returns ``self``. Policies are separate from
estimators (``eval.ope``), as in the Open Bandit Pipeline.

Shapes: n requests, d feature dims, M models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self, TypeVar

import numpy as np

from data.matrix import BanditLog, FullInfo
from router_model.reward import RewardWeights, decision_utility


@dataclass
class Predictions:
    """Per-model predicted outcomes, each (n, M) float64."""

    quality: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    energy_j: np.ndarray


class Policy(ABC):
    """Base class. Subclasses register with ``@register("name")``."""

    name: ClassVar[str] = ""
    models_: list[str]

    @abstractmethod
    def fit(self, X: np.ndarray, log: FullInfo | BanditLog) -> Self:
        """Learn from features X (n, d) float32 and the matching log rows."""

    @abstractmethod
    def predict(self, X: np.ndarray, tasks: np.ndarray | None = None) -> Predictions:
        """Predicted outcomes per model for X (n, d); tasks (n,) for task-aware baselines."""

    def select(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        """Chosen model index per request, (n,) int64: argmax of predicted utility."""
        return argmax_utility(self.predict(X, tasks), w, mask)

    def action_probs(
        self,
        X: np.ndarray,
        w: RewardWeights,
        mask: np.ndarray | None = None,
        tasks: np.ndarray | None = None,
    ) -> np.ndarray:
        """(n, M) probability of choosing each model; deterministic policies are one-hot."""
        a = self.select(X, w, mask, tasks)
        p = np.zeros((len(a), len(self.models_)))
        p[np.arange(len(a)), a] = 1.0
        return p


def argmax_utility(
    pred: Predictions, w: RewardWeights, mask: np.ndarray | None = None
) -> np.ndarray:
    """argmax_m u(m) under limits; where every model breaks a limit, the best allowed one
    ignoring the limits (documented fallback). Returns (n,) int64."""
    u, _ = decision_utility(pred.quality, pred.cost_usd, pred.latency_ms, pred.energy_j,
                            w.columns(), mask)
    return np.argmax(u, axis=1).astype(np.int64)


P = TypeVar("P", bound=type[Policy])
REGISTRY: dict[str, type[Policy]] = {}


def register(name: str) -> Callable[[P], P]:
    """Class decorator: make a policy constructible by name."""

    def deco(cls: P) -> P:
        if name in REGISTRY:
            raise ValueError(f"policy {name!r} registered twice")
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return deco


def make_policy(name: str, **kwargs: object) -> Policy:
    """Build a registered policy; unknown names list the known ones."""
    if name not in REGISTRY:
        raise KeyError(f"unknown policy {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name](**kwargs)
