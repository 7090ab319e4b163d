"""The exported computation: token ids -> features -> outcomes -> utility -> choice.

``DecisionHead`` runs ``router_model.reward.decision_utility`` (the one decision rule:
utility formula, limits, mask, fallback) on torch ops, so the weights, limits and model
mask are graph inputs and one artifact serves the whole cost-quality curve.
"""

from __future__ import annotations

import torch
from torch import nn

from router_model.reward import ArrayOps, decision_utility

# the decision rule (router_model.reward.decision_utility) in torch ops
TORCH_OPS = ArrayOps(torch.where, lambda x, v: x.clamp(min=v),
                     lambda x: x.amax(dim=-1, keepdim=True))

OUTPUT_NAMES = ("quality", "cost_usd", "latency_ms", "energy_j", "utility", "choice",
                "features")
INPUT_NAMES = ("input_ids", "attention_mask", "weights", "model_mask")


class DecisionHead(nn.Module):
    """(q, c, l, e) (B, M), weights (B, 5), mask (B, M) bool -> utility (B, M), choice (B,).

    Utility is NEG_INF where the mask or a limit excludes a model; when every allowed
    model breaks a limit, the limits are dropped for that request (fallback). Allowed
    utilities are floored at UTIL_FLOOR (> NEG_INF), so no weights or outcomes can make
    an excluded model outscore an allowed one.
    """

    def forward(self, q: torch.Tensor, c: torch.Tensor, lat: torch.Tensor, e: torch.Tensor,
                weights: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # one Split node gives the five (B, 1) columns; they broadcast over the M models
        util, _ = decision_utility(q, c, lat, e, weights.split(1, dim=1), mask, TORCH_OPS)
        return util, torch.argmax(util, dim=1)


class RouterGraph(nn.Module):
    """featurizer + outcome module + decision head, with the contract's I/O names."""

    def __init__(self, featurizer: nn.Module, outcomes: nn.Module) -> None:
        super().__init__()
        self.featurizer = featurizer
        self.outcomes = outcomes
        self.decide = DecisionHead()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                weights: torch.Tensor, model_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.featurizer(input_ids, attention_mask)
        q, c, lat, e = self.outcomes(feats)
        util, choice = self.decide(q, c, lat, e, weights, model_mask)
        return q, c, lat, e, util, choice, feats
