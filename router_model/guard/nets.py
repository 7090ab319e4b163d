"""The guard's learned part as one torch module (exported to one ONNX graph).

Inputs per window: ``input_ids``, ``attention_mask``, ``shape_ids`` (B, T) int64.
Features reuse the router's ``StaticFeaturizer`` (frozen): its pooled output (B, D) and
its static token table (B, T, d). On top, learned and small:

- token stream: project the static vectors to ``hidden``, add a learned case-shape
  embedding and a small learned per-token embedding, then a stack of dilated 1-D
  convolutions (residual, GELU) -> (B, T, hidden);
- tagger head: per token, logits over BIO tags ``["O", "B-T", "I-T", ...]`` -> (B, T, L);
- classifier head: [pooled static (B, D), masked mean and max of the token stream
  (B, 2 * hidden), mean of hashed token-bigram embeddings (B, ngram_dim)] -> MLP ->
  one logit per category (B, C), plus a wide linear part over hashed token 1-3-grams
  (``wide_logits``); independent sigmoids (a text can be both a jailbreak and a
  harmful request).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from router_model.featurizer import StaticFeaturizer
from router_model.guard.encoding import N_SHAPES

BIGRAM_MULT = 1000003
NEG = -1e4


def _masked_sum(e: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``(e * m[..., None]).sum(1)``: (B, T, d), (B, T) -> (B, d), as one (B, 1, T) @
    (B, T, d) MatMul (ONNX Runtime's broadcast Mul over a short last axis and its
    ReduceSum over the middle axis are several times slower)."""
    return torch.bmm(m.unsqueeze(1), e).squeeze(1)


class GuardNet(nn.Module):
    """Classifier + tagger over windows (see module docstring)."""

    def __init__(self, featurizer: StaticFeaturizer, n_classes: int, n_tags: int,
                 hidden: int = 64, conv_layers: int = 2, token_dim: int = 16,
                 ngram_buckets: int = 1 << 16, ngram_dim: int = 32,
                 dropout: float = 0.1, wide_buckets: int = 1 << 18) -> None:
        super().__init__()
        self.featurizer = featurizer.requires_grad_(False)
        vocab, static_dim = featurizer.table.weight.shape
        self.proj = nn.Linear(static_dim, hidden)
        self.token = nn.Embedding(vocab, token_dim)
        self.token_proj = nn.Linear(token_dim, hidden, bias=False)
        self.shape = nn.Embedding(N_SHAPES, hidden)
        self.convs = nn.ModuleList(
            nn.Conv1d(hidden, hidden, 3, padding=2 ** i, dilation=2 ** i)
            for i in range(conv_layers))
        self.ngram_buckets = ngram_buckets
        self.bigram = nn.Embedding(ngram_buckets, ngram_dim)
        self.drop = nn.Dropout(dropout)
        cls_in = featurizer.out_dim + 2 * hidden + ngram_dim
        self.cls_head = nn.Sequential(nn.Linear(cls_in, hidden * 2), nn.GELU(),
                                      nn.Dropout(dropout), nn.Linear(hidden * 2, n_classes))
        self.tag_head = nn.Linear(hidden, n_tags)
        self.wide_buckets = wide_buckets
        self.wide = nn.Embedding(wide_buckets, n_classes)
        nn.init.zeros_(self.wide.weight)
        nn.init.normal_(self.token.weight, std=0.02)
        nn.init.normal_(self.bigram.weight, std=0.02)

    def token_inputs(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The linear part of each token's vector (B, T, hidden): projected static vector
        + projected learned token vector (a fixed table lookup once trained: ``folded``)."""
        static = self.featurizer.table(input_ids * mask.long())
        return self.proj(static) + self.token_proj(self.token(input_ids))

    @torch.no_grad()
    def folded(self) -> torch.Tensor:
        """(V, hidden) table equal to ``token_inputs`` for every id (the export's lookup:
        one gather instead of a gather + a (d x hidden) matmul per token)."""
        w = self.featurizer.table.weight
        learned = self.token.weight @ self.token_proj.weight.T
        return w @ self.proj.weight.T + self.proj.bias + learned

    def tokens(self, input_ids: torch.Tensor, shape_ids: torch.Tensor,
               mask: torch.Tensor, lin: torch.Tensor | None = None) -> torch.Tensor:
        """Contextual token features (B, T, hidden), zero at padding; ``lin`` = the
        precomputed ``token_inputs`` (else computed)."""
        lin = self.token_inputs(input_ids, mask) if lin is None else lin
        h = torch.nn.functional.gelu(lin + self.shape(shape_ids)) * mask.unsqueeze(-1)
        x = h.transpose(1, 2)  # (B, hidden, T)
        m = mask.unsqueeze(1)
        for conv in self.convs:
            x = x + torch.nn.functional.gelu(conv(self.drop(x))) * m
        return x.transpose(1, 2)

    def bigrams(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean of hashed bigram embeddings over valid pairs (B, ngram_dim)."""
        pair = mask[:, :-1] * mask[:, 1:]
        h = (input_ids[:, :-1] * BIGRAM_MULT + input_ids[:, 1:]) % self.ngram_buckets
        return _masked_sum(self.bigram(h), pair) / pair.sum(1, keepdim=True).clamp(min=1.0)

    def wide_logits(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The linear "wide" part: one learned weight per category for each hashed token
        1-, 2- and 3-gram, summed over the window / sqrt(count) (an l2-normalised binary
        bag, like the TF-IDF baseline's, but of token n-grams) -> (B, C)."""
        ids, m = input_ids, mask
        uni = (ids * 7 + 1) % self.wide_buckets
        bi = (ids[:, :-1] * BIGRAM_MULT + ids[:, 1:]) % self.wide_buckets
        tri = ((ids[:, :-2] * BIGRAM_MULT + ids[:, 1:-1]) * 31 + ids[:, 2:]) % self.wide_buckets
        mb, mt = m[:, :-1] * m[:, 1:], m[:, :-2] * m[:, 1:-1] * m[:, 2:]
        total = _masked_sum(self.wide(uni), m) + _masked_sum(self.wide(bi), mb) \
            + _masked_sum(self.wide(tri), mt)
        n = m.sum(1, keepdim=True) + mb.sum(1, keepdim=True) + mt.sum(1, keepdim=True)
        return total / n.clamp(min=1.0).sqrt()

    def tokens_conv2d(self, input_ids: torch.Tensor, shape_ids: torch.Tensor,
                      mask: torch.Tensor, lin: torch.Tensor) -> torch.Tensor:
        """``tokens`` channels-first, (B, hidden, 1, T), each dilated convolution as a
        (1, 3) Conv2d: the same function with the same weights (parity test), which ONNX
        Runtime's CPU provider runs in its blocked NCHWc layout, faster than the earlier
        export's matmul over three shifted copies of the sequence on 128-token windows
        (docs/guard.md, "Input check speed"; ``guard.reexport`` reads either form)."""
        h = torch.nn.functional.gelu(lin + self.shape(shape_ids)) * mask.unsqueeze(-1)
        x = h.transpose(1, 2).unsqueeze(2)  # (B, hidden, 1, T)
        m = mask.unsqueeze(1).unsqueeze(1)
        for layer in self.convs:
            conv = cast(nn.Conv1d, layer)
            d = int(conv.dilation[0])
            y = torch.nn.functional.conv2d(x, conv.weight.unsqueeze(2), conv.bias,
                                           padding=(0, d), dilation=(1, d))
            x = x + torch.nn.functional.gelu(y) * m
        return x

    def folded_stream(self, input_ids: torch.Tensor, shape_ids: torch.Tensor,
                      mask: torch.Tensor, lin: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The export's token stream (``tokens_conv2d``) and what the heads read from
        it, all channels-first: masked mean and max over tokens (B, hidden) each (a
        reduction over the last axis) and the tag logits (B, T, L) (the tag head as a
        1 x 1 convolution, then one transpose)."""
        x = self.tokens_conv2d(input_ids, shape_ids, mask, lin)
        m = mask.unsqueeze(1).unsqueeze(1)
        n = mask.sum(1, keepdim=True).clamp(min=1.0)
        mean = x.sum(dim=(2, 3)) / n
        mx = (x + (m - 1.0) * -NEG).amax(dim=(2, 3))
        w = self.tag_head.weight.unsqueeze(-1).unsqueeze(-1)
        tags = torch.nn.functional.conv2d(x, w, self.tag_head.bias)  # (B, L, 1, T)
        return mean, mx, tags.squeeze(2).transpose(1, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                shape_ids: torch.Tensor, lin: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> class logits (B, C), tag logits (B, T, L); with ``lin`` (the export's
        folded lookup) the token stream runs channels-first (``folded_stream``)."""
        mask = attention_mask.to(torch.float32)
        if lin is None:
            h = self.tokens(input_ids, shape_ids, mask)
            n = mask.sum(1, keepdim=True).clamp(min=1.0)
            mean = h.sum(1) / n
            mx = (h + (mask.unsqueeze(-1) - 1.0) * -NEG).amax(1)
            tags = self.tag_head(self.drop(h))
        else:
            mean, mx, tags = self.folded_stream(input_ids, shape_ids, mask, lin)
        pooled = self.featurizer(input_ids, attention_mask)
        z = torch.cat([pooled, mean, mx, self.bigrams(input_ids, mask)], dim=1)
        logits = self.cls_head(self.drop(z)) + self.wide_logits(input_ids, mask)
        return logits, tags


class GuardGraph(nn.Module):
    """The exported form: probabilities instead of logits, the token projections folded
    into one (V, hidden) lookup table (``GuardNet.folded``).

    Outputs: ``scores`` (B, C) sigmoid per category; ``tag_probs`` (B, T, L) softmax over
    the BIO tags (``O``, ``B-<type>``, ``I-<type>``, ...).
    """

    def __init__(self, net: GuardNet) -> None:
        super().__init__()
        self.net = net.eval()
        self.lin = nn.Embedding.from_pretrained(net.folded(), freeze=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                shape_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lin = self.lin(input_ids)
        return probabilities(*self.net(input_ids, attention_mask, shape_ids, lin))


class GuardEnsemble(nn.Module):
    """K trained ``GuardNet`` s (other seeds, same data and featurizer) as one graph with
    ``GuardGraph``'s inputs and outputs: the mean of their ``scores`` (B, C) and of their
    ``tag_probs`` (B, T, L). Averaging seeds lowers the variance of one training run (the
    guard's validation figures move by several points from seed to seed: docs/guard.md,
    "Seed ensembles"), at K times the network's cost per window."""

    def __init__(self, nets: list[GuardNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(GuardGraph(n) for n in nets)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                shape_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _mean([m(input_ids, attention_mask, shape_ids) for m in self.members])


def exported_form(nets: list[GuardNet]) -> nn.Module:
    """The module to export: ``GuardGraph`` for one net, ``GuardEnsemble`` for several."""
    return GuardGraph(nets[0]) if len(nets) == 1 else GuardEnsemble(nets)


def mean_probabilities(nets: list[GuardNet], input_ids: torch.Tensor,
                       attention_mask: torch.Tensor, shape_ids: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The training modules' (unfolded) probabilities, averaged over ``nets``: what the
    exported form must compute (the parity reference)."""
    return _mean([probabilities(*n.eval()(input_ids, attention_mask, shape_ids))
                  for n in nets])


def _mean(outs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise mean of K (scores, tag_probs) pairs."""
    k = float(len(outs))
    return (torch.stack([o[0] for o in outs]).sum(0) / k,
            torch.stack([o[1] for o in outs]).sum(0) / k)


def probabilities(logits: torch.Tensor, tags: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C) logits, (B, T, L) tag logits -> scores (B, C), tag_probs (B, T, L)."""
    return torch.sigmoid(logits), torch.softmax(tags, dim=-1)


INPUT_NAMES = ("input_ids", "attention_mask", "shape_ids")
OUTPUT_NAMES = ("scores", "tag_probs")
