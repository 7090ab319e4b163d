"""Joint training across datasets: the router's ensemble fitted on its own log plus rows
of another dataset that ran some of the same models (issue #15's "joint training across
datasets": gpt-4-1106-preview and Mixtral are in both RouterBench and RouteLLM).

``AuxRows`` holds the other dataset's requests already featurized by this split's
featurizer, with quality in the main log's model order and NaN where a model was not run;
the masked loss (``fitting._tensors``) gives those cells weight 0, so the auxiliary rows
train the shared body and the shared models' heads only. ``aux_weight`` scales their
quality weight; cost, latency and energy of auxiliary rows are not used (other price
tables). Shapes: n main rows, n_aux auxiliary rows, d features, M models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from data.matrix import FullInfo
from router_model.policies.base import register
from router_model.policies.outcome_net import Targets
from router_model.policies.supervised import SupervisedPolicy, full_info_targets


@dataclass(frozen=True)
class AuxRows:
    """Auxiliary training rows: ``X`` (n_aux, d) float32, ``quality`` (n_aux, M) in [0, 1]
    or NaN (model not run), columns in the main log's model order."""

    X: np.ndarray
    quality: np.ndarray

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.quality.ndim != 2 or len(self.X) != len(self.quality):
            raise ValueError(f"AuxRows: expected X (n, d) and quality (n, M) with the same n, "
                             f"got {self.X.shape} and {self.quality.shape}")


def with_aux(X: np.ndarray, targets: Targets, aux: AuxRows, weight: float
             ) -> tuple[np.ndarray, Targets]:
    """X (n + n_aux, d) and targets with the auxiliary rows appended (quality weight
    ``weight`` where observed, every other outcome unobserved)."""
    if aux.X.shape[1] != X.shape[1] or aux.quality.shape[1] != targets.values["quality"].shape[1]:
        raise ValueError(f"aux: expected (., {X.shape[1]}) features and "
                         f"{targets.values['quality'].shape[1]} models, got {aux.X.shape[1]} "
                         f"and {aux.quality.shape[1]}")
    values, weights = {}, {}
    for name, v in targets.values.items():
        extra = aux.quality if name == "quality" else np.full(aux.quality.shape, np.nan)
        values[name] = np.concatenate([v, extra.astype(v.dtype)])
        w_extra = np.isfinite(extra).astype(np.float32) * (weight if name == "quality" else 0.0)
        weights[name] = np.concatenate([targets.weights[name], w_extra.astype(np.float32)])
    return np.concatenate([X, aux.X.astype(X.dtype)]), Targets(values, weights)


@register("joint")
class JointPolicy(SupervisedPolicy):
    """``SupervisedPolicy`` fitted on its log plus ``aux`` (above); with ``aux=None`` it is
    exactly the supervised policy."""

    def __init__(self, aux: AuxRows | None = None, aux_weight: float = 1.0,
                 **base: Any) -> None:
        if aux_weight < 0:
            raise ValueError(f"aux_weight: expected >= 0, got {aux_weight}")
        super().__init__(**base)
        self.aux, self.aux_weight = aux, aux_weight

    def training_rows(self, X: np.ndarray, log: FullInfo) -> tuple[np.ndarray, Targets]:
        targets = full_info_targets(log)
        if self.aux is None or len(self.aux.X) == 0:
            return X, targets
        return with_aux(X, targets, self.aux, self.aux_weight)

    def params(self) -> dict[str, object]:
        out = {k: v for k, v in super().params().items() if k != "aux"}
        return {**out, "n_aux": 0 if self.aux is None else len(self.aux.X)}
