"""The methods the suite compares, and the one protocol that fits each of them on a split.

A method is a registered ``Policy`` (``router_model.policies``) on one kind of features
(``static``: the router's shipped featurizer; ``minilm``: MiniLM sentence embeddings),
with a small hyper-parameter grid. Protocol, the same for every method: each grid point
is fitted on the split's train part and scored on its validation part (Brier score of the
predicted quality); the best is refitted on train + validation and predicts the test
part. Methods that read the task tag (``uses_tags``) get it at predict time; real traffic
does not carry it (``inferred_task_prior`` must infer it from the text).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data.matrix import FullInfo
from eval.suite.splits import Split
from router_model.policies import make_policy
from router_model.policies.base import Policy

log = logging.getLogger(__name__)
PolicyFactory = Callable[[], Policy]


@dataclass(frozen=True)
class MethodSpec:
    """One compared method (see module docstring)."""

    name: str
    policy: str
    features: str
    grid: tuple[dict[str, Any], ...] = ({},)
    uses_tags: bool = False
    factory: PolicyFactory | None = field(default=None, compare=False)

    def build(self, params: dict[str, Any]) -> Policy:
        if self.factory is not None:
            return self.factory()
        return make_policy(self.policy, **params)


def baseline_specs(features: str = "minilm") -> dict[str, MethodSpec]:
    """The simple baselines of issue #15, on ``features`` (minilm, or static for speed)."""
    knn_grid = tuple({"k": k, "lam": lam} for k in (10, 40) for lam in (0.0, 20.0))
    return {
        "best_single": MethodSpec("best_single", "task_prior", "none"),
        "task_prior": MethodSpec("task_prior", "task_prior", "none", uses_tags=True),
        "inferred_task_prior": MethodSpec("inferred_task_prior", "inferred_task_prior",
                                          features, ({"C": 1.0}, {"C": 10.0})),
        "knn_shrunk": MethodSpec("knn_shrunk", "knn_shrunk", features, knn_grid,
                                 uses_tags=True),
        # the same without the tag: shrunk toward the inferred task prior
        "knn_inferred": MethodSpec("knn_inferred", "knn_inferred", features,
                                   tuple({**g, "C": 10.0} for g in knn_grid)),
        "logistic": MethodSpec("logistic", "logistic", features,
                               ({"C": 0.1}, {"C": 1.0}, {"C": 10.0})),
    }


def brier(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean squared error of predicted quality (n, M) over the observed cells."""
    ok = np.isfinite(truth)
    return float(np.mean((pred[ok] - truth[ok]) ** 2))


@dataclass
class Fitted:
    """A method fitted on one split: its test predictions and the chosen grid point."""

    quality: np.ndarray
    params: dict[str, Any]
    val_brier: float | None
    policy: Policy | None = None


def fit_method(spec: MethodSpec, X: np.ndarray, full: FullInfo, split: Split,
               extra: dict[str, Any] | None = None) -> Fitted:
    """The protocol of the module docstring. X: (n, d) features of all n requests;
    ``extra``: constructor arguments that are data, not tuned (the joint variant's rows)."""
    tasks = full.tasks if spec.uses_tags else None
    best, best_params, best_score = None, spec.grid[0], None
    more = extra or {}
    if len(spec.grid) > 1:
        for params in spec.grid:
            pol = spec.build({**params, **more}).fit(X[split.train], full.subset(split.train))
            q = pol.predict(X[split.val], None if tasks is None else tasks[split.val]).quality
            score = brier(q, full.quality[split.val])
            if best_score is None or score < best_score:
                best_params, best_score = params, score
    best = spec.build({**best_params, **more}).fit(X[split.fit], full.subset(split.fit))
    q = best.predict(X[split.test], None if tasks is None else tasks[split.test]).quality
    log.info("%s split %d: params %s (val Brier %s)", spec.name, split.k, best_params,
             "n/a" if best_score is None else f"{best_score:.4f}")
    return Fitted(q, dict(best_params), best_score, best)
