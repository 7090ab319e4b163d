"""The cache's hit verifier: a small symmetric pair classifier over token ids (torch).

Given the new prompt ``a`` and a cached prompt ``b`` (the router's WordPiece ids), it
scores whether one answer serves both. An ESIM-style model, small enough for well
under a millisecond per pair on one CPU thread:

1. tokens -> static MiniLM vectors (the router's distilled table, fine-tuned) + flags
   (digit, negation) -> a projection, plus a width-3 convolution for word order;
2. soft alignment of each token with the other text, compared as
   ``[x, aligned, x - aligned, x * aligned, exact-id match]`` -> mean and max pooling;
3. ``[va + vb, |va - vb|, va * vb]`` -> MLP -> one logit (so score(a, b) = score(b, a)).

Platt calibration ``sigmoid(scale * logit + bias)`` is part of the exported graph.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

INPUT_NAMES = ("ids_a", "mask_a", "ids_b", "mask_b")
OUTPUT_NAMES = ("logit", "probability")
SPECIAL_IDS = (0, 101, 102)  # [PAD] [CLS] [SEP]: masked out, they match in every pair
NEG = -1e4


class PairVerifier(nn.Module):
    """(ids_a (B, Ta), mask_a (B, Ta), ids_b (B, Tb), mask_b (B, Tb)) int64 ->
    (logit (B,), probability (B,)) float32."""

    def __init__(self, table: np.ndarray, flags: np.ndarray, hidden: int = 128,
                 train_table: bool = True) -> None:
        super().__init__()
        self.emb = nn.Embedding.from_pretrained(torch.from_numpy(table.astype(np.float32)),
                                                freeze=not train_table, sparse=True)
        self.flags = nn.Embedding.from_pretrained(torch.from_numpy(flags.astype(np.float32)),
                                                  freeze=True)
        self.proj = nn.Linear(table.shape[1] + flags.shape[1], hidden)
        self.ctx = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.compare = nn.Sequential(nn.Linear(4 * hidden + 1, hidden), nn.GELU())
        self.head = nn.Sequential(nn.Linear(6 * hidden, hidden), nn.GELU(),
                                  nn.Linear(hidden, 1))
        self.scale = nn.Parameter(torch.ones(()), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(()), requires_grad=False)
        self.hidden = hidden

    @property
    def vocab_size(self) -> int:
        return int(self.emb.num_embeddings)

    def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T) ids, (B, T) bool mask -> (B, T, H) token states (0 where masked)."""
        x = self.proj(torch.cat([self.emb(ids), self.flags(ids)], dim=-1))
        c = F.gelu(self.ctx(x.transpose(1, 2))).transpose(1, 2)
        return (x + c) * mask.unsqueeze(-1)

    def side(self, x: torch.Tensor, xm: torch.Tensor, ids_x: torch.Tensor,
             y: torch.Tensor, ym: torch.Tensor, ids_y: torch.Tensor) -> torch.Tensor:
        """x's tokens aligned against y -> (B, 2H) pooled comparison."""
        e = torch.matmul(x, y.transpose(1, 2)) / math.sqrt(self.hidden)
        e = e.masked_fill(~ym.unsqueeze(1), NEG)
        aligned = torch.matmul(torch.softmax(e, dim=-1), y)
        same = (ids_x.unsqueeze(2) == ids_y.unsqueeze(1)) & ym.unsqueeze(1)
        exact = same.any(dim=-1, keepdim=True).to(x.dtype)
        m = self.compare(torch.cat([x, aligned, x - aligned, x * aligned, exact], dim=-1))
        m = m * xm.unsqueeze(-1)
        n = xm.sum(dim=1, keepdim=True).clamp(min=1).to(x.dtype)
        top = m.masked_fill(~xm.unsqueeze(-1), NEG).amax(dim=1)
        top = torch.where(xm.any(dim=1, keepdim=True), top, torch.zeros_like(top))
        return torch.cat([m.sum(dim=1) / n, top], dim=-1)

    @staticmethod
    def content_mask(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask > 0
        for s in SPECIAL_IDS:
            keep = keep & (ids != s)
        return keep

    def logits(self, ids_a: torch.Tensor, mask_a: torch.Tensor, ids_b: torch.Tensor,
               mask_b: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (B,)."""
        ma, mb = self.content_mask(ids_a, mask_a), self.content_mask(ids_b, mask_b)
        a, b = self.encode(ids_a, ma), self.encode(ids_b, mb)
        va = self.side(a, ma, ids_a, b, mb, ids_b)
        vb = self.side(b, mb, ids_b, a, ma, ids_a)
        return self.head(torch.cat([va + vb, (va - vb).abs(), va * vb], dim=-1)).squeeze(-1)

    def forward(self, ids_a: torch.Tensor, mask_a: torch.Tensor, ids_b: torch.Tensor,
                mask_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.logits(ids_a, mask_a, ids_b, mask_b)
        return z, torch.sigmoid(self.scale * z + self.bias)


NEGATION_WORDS = ("not", "no", "never", "without", "nothing", "none", "nobody", "cannot",
                  "t", "neither", "nor")


def verifier_flags(vocab: dict[str, int], size: int) -> np.ndarray:
    """(V, 2) float32 token flags: [is a number piece, is a negation word]."""
    flags = np.zeros((size, 2), dtype=np.float32)
    for tok, i in vocab.items():
        core = tok[2:] if tok.startswith("##") else tok
        flags[i, 0] = float(core.isdigit())
        flags[i, 1] = float(tok in NEGATION_WORDS)
    return flags


class StateVerifier(PairVerifier):
    """The same ESIM head over given token states (B, T, D) (e.g. a frozen MiniLM's last
    layer) instead of the static table; the digit / negation flags and the exact-id match
    still come from the ids (train.cache_frozen)."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        from router_model.tokenization import load_tokenizer

        tok = load_tokenizer(512)
        v = tok.get_vocab_size()
        super().__init__(np.zeros((1, 1), np.float32), verifier_flags(tok.get_vocab(), v),
                         hidden, train_table=False)
        self.proj = nn.Linear(dim + 2, hidden)

    def encode_states(self, h: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
                      ) -> torch.Tensor:
        x = self.proj(torch.cat([h, self.flags(ids)], dim=-1))
        c = F.gelu(self.ctx(x.transpose(1, 2))).transpose(1, 2)
        return (x + c) * mask.unsqueeze(-1)

    def logits_states(self, ha: torch.Tensor, ids_a: torch.Tensor, mask_a: torch.Tensor,
                      hb: torch.Tensor, ids_b: torch.Tensor, mask_b: torch.Tensor
                      ) -> torch.Tensor:
        ma, mb = self.content_mask(ids_a, mask_a), self.content_mask(ids_b, mask_b)
        a, b = self.encode_states(ha, ids_a, ma), self.encode_states(hb, ids_b, mb)
        va = self.side(a, ma, ids_a, b, mb, ids_b)
        vb = self.side(b, mb, ids_b, a, ma, ids_a)
        return self.head(torch.cat([va + vb, (va - vb).abs(), va * vb], dim=-1)).squeeze(-1)
