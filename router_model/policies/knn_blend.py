"""Blend of the outcome ensemble with the tag-free kNN: q = alpha q_mlp + (1 - alpha) q_knn.

``BlendPolicy`` (``router_model.policies.blend``) with ``knn_inferred`` as the partner in
place of the inferred task prior: the k nearest training queries' mean quality shrunk
toward the inferred task prior, so no task tag is read. The suite tunes ``alpha`` on each
split's validation part. Evaluation only: no torch module (the kNN needs the training
set's features at request time). Measured on RouterBench validation parts it is below the
ensemble alone (docs/routing.md), so it is not a shipped policy.
"""

from __future__ import annotations

from typing import Any

from router_model.policies.base import Policy, register
from router_model.policies.blend import BlendPolicy
from router_model.policies.text_baselines import KNNInferredPolicy


@register("blend_knn")
class KNNBlendPolicy(BlendPolicy):
    """``alpha`` x the outcome ensemble + (1 - alpha) x ``knn_inferred``."""

    def __init__(self, alpha: float = 0.5, k: int = 40, lam: float = 20.0, C: float = 10.0,
                 **base: Any) -> None:
        super().__init__(alpha, C, **base)
        self.k, self.lam = k, lam

    def partner(self) -> Policy:
        return KNNInferredPolicy(self.k, self.lam, self.C)

    def params(self) -> dict[str, object]:
        return {**super().params(), "k": self.k, "lam": self.lam}
