"""The cache's hit verifier as a cross-encoder: all-MiniLM-L6-v2 reads both texts at once.

Same interface as ``train.cache_model.PairVerifier`` (so ``lmroute cache train``, the
export, its parity check and ``serve.cache.verifier`` take either): ``ids_a`` (B, Ta),
``mask_a`` (B, Ta), ``ids_b`` (B, Tb), ``mask_b`` (B, Tb) int64, each text its own
right-padded ``[CLS] ... [SEP]`` -> ``logit`` (B,), ``probability`` (B,).

Inside, the pair becomes BERT's one sequence ``[CLS] a [SEP] b [SEP]``: ``a``'s ids then
``b``'s without its ``[CLS]``, with ``a``'s padding left in the middle but masked out of
attention and skipped by the position ids (``cumsum(mask) - 1``), so every real token
has the position and segment (0 for ``a``, 1 for ``b``) it would have in the packed
sequence: the same function as packing, with no gather in the graph. A linear head on the
masked mean of the last layer gives the logit; Platt calibration ``sigmoid(scale * logit +
bias)`` is part of the graph, as in the ESIM verifier.

A cross-encoder sees which words of one question answer which of the other in every
layer (QQP's hard negatives share the topic and most words); it costs a 6-layer
transformer per candidate (milliseconds, not microseconds), which the cache pays only on
candidates past the similarity gate, and only when a hit would save a whole model call.
"""

from __future__ import annotations

import torch
from torch import nn


class CrossVerifier(nn.Module):
    """MiniLM cross-encoder pair classifier (see module)."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import AutoModel

        from router_model.tokenization import source_model_dir

        self.encoder = AutoModel.from_pretrained(str(source_model_dir()),
                                                 attn_implementation="eager")
        self.head = nn.Linear(self.encoder.config.hidden_size, 1)
        self.scale = nn.Parameter(torch.ones(()), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(()), requires_grad=False)

    @property
    def vocab_size(self) -> int:
        return int(self.encoder.config.vocab_size)

    def logits(self, ids_a: torch.Tensor, mask_a: torch.Tensor, ids_b: torch.Tensor,
               mask_b: torch.Tensor) -> torch.Tensor:
        """(B,) uncalibrated logits (training and calibration use these)."""
        ids = torch.cat([ids_a, ids_b[:, 1:]], dim=1)
        mask = torch.cat([mask_a, mask_b[:, 1:]], dim=1)
        pos = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
        types = torch.cat([torch.zeros_like(mask_a), torch.ones_like(mask_b[:, 1:])], dim=1)
        h = self.encoder(input_ids=ids * mask, attention_mask=mask, token_type_ids=types,
                         position_ids=pos).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)

    def forward(self, ids_a: torch.Tensor, mask_a: torch.Tensor, ids_b: torch.Tensor,
                mask_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.logits(ids_a, mask_a, ids_b, mask_b)
        return z, torch.sigmoid(self.scale * z + self.bias)
