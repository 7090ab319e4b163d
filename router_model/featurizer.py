"""Query featurizers as torch modules: token ids in, features out (exported to ONNX).

``StaticFeaturizer`` (default): SIF-weighted mean of the distilled static token table,
L2-normalised, plus cheap scalar features computed from the ids inside the graph
(log length, fraction of code / math / digit / question-marker tokens via a per-token
flag table). ``TransformerFeaturizer``: all-MiniLM-L6-v2 mean-pooled, plus the same
scalars; ~100x slower, kept for comparison.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

FLAG_NAMES = ("code", "math", "digit", "question")
_CODE = re.compile(
    r"^(##)?(def|return|import|class|function|print|lambda|self|none|true|false|elif|for|"
    r"while|int|str|list|dict|tuple|array|string|python|code|def|var|const|_|\(|\)|\[|\]|"
    r"\{|\}|:|=|==|<|>|#|\.|,|'|\"|`)$"
)
_MATH = re.compile(r"^(##)?(\+|-|\*|/|\^|%|=|sum|equation|solve|number|numbers|integer|"
                   r"calculate|total|average|sqrt|prime|divided|multiply|fraction|percent)$")
_DIGIT = re.compile(r"^(##)?\d+$")
_QUESTION = re.compile(r"^(\?|what|which|who|why|how|when|where|answer|a|b|c|d)$")
SPECIAL_IDS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK]
# the prompt-tail view of the static featurizer (tokens; 0 = off): the question of a
# few-shot prompt is at its end. Off by default: on the suite's validation parts it did not
# help (RouterBench AIQ -0.003, MMLU APGR -0.017, DC-Router AIQ -0.0045; docs/routing.md)
TAIL_TOKENS = 0


def token_flags(tok: Tokenizer) -> np.ndarray:
    """(V, len(FLAG_NAMES)) float32 0/1 flags per vocabulary token."""
    vocab = tok.get_vocab()
    flags = np.zeros((tok.get_vocab_size(), len(FLAG_NAMES)), dtype=np.float32)
    for text, i in vocab.items():
        for j, rx in enumerate((_CODE, _MATH, _DIGIT, _QUESTION)):
            flags[i, j] = float(bool(rx.match(text)))
    return flags


def sif_weights(token_counts: np.ndarray, a: float = 1e-3) -> np.ndarray:
    """SIF weights a / (a + p(token)) from corpus counts (V,); specials get 0. -> (V,)."""
    p = (token_counts + 1.0) / (token_counts.sum() + len(token_counts))
    w = (a / (a + p)).astype(np.float32)
    w[list(SPECIAL_IDS)] = 0.0
    return w


def count_tokens(tok: Tokenizer, texts: list[str], vocab_size: int) -> np.ndarray:
    """Token frequencies of a corpus (keep-tail truncated as at routing time). -> (V,)."""
    counts = np.zeros(vocab_size, dtype=np.float64)
    for start in range(0, len(texts), 4096):
        for enc in tok.encode_batch(texts[start:start + 4096]):
            np.add.at(counts, enc.ids, 1.0)
    return counts


class ScalarFeatures(nn.Module):
    """Scalars from ids: [log-length/log(513), flag fractions...] -> (B, 1 + F)."""

    def __init__(self, flags: np.ndarray) -> None:
        super().__init__()
        self.flags = nn.Embedding.from_pretrained(torch.from_numpy(flags), freeze=True)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        # a (B, 1, T) @ (B, T, F) MatMul: ONNX Runtime's ReduceSum over the middle (token)
        # axis is several times slower
        frac = torch.bmm(mask.unsqueeze(1), self.flags(input_ids)).squeeze(1) / n
        return torch.cat([torch.log1p(n) / math.log(513.0), frac], dim=1)


class StaticFeaturizer(nn.Module):
    """Static-embedding featurizer. Output (B, dim [+ dim] + 1 + F) float32.

    Views of the prompt: the SIF-weighted mean of every kept token, and, when
    ``tail_tokens`` > 0, the same mean over the last ``tail_tokens`` real tokens only
    (few-shot prompts share their prefix; the question to answer is at the end), each
    L2-normalised; then the scalar features.
    """

    kind = "static"

    def __init__(self, table: np.ndarray, weights: np.ndarray, flags: np.ndarray,
                 tail_tokens: int = 0) -> None:
        super().__init__()
        weights = weights.astype(np.float32).copy()
        weights[list(SPECIAL_IDS)] = 0.0  # specials carry no meaning; [PAD] row must be 0
        weighted = (table * weights[:, None]).astype(np.float32)
        self.table = nn.Embedding.from_pretrained(torch.from_numpy(weighted), freeze=True)
        self.scalars = ScalarFeatures(flags)
        self.tail_tokens = int(tail_tokens)
        views = 2 if self.tail_tokens > 0 else 1
        self.out_dim = views * table.shape[1] + 1 + flags.shape[1]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        # row 0 ([PAD]) of the table is zero, so masking the ids masks the vectors
        vecs = self.table(input_ids * attention_mask)  # (B, T, d)
        rows = [mask]  # token weights of each view, (B, T) each
        if self.tail_tokens > 0:
            n = attention_mask.sum(dim=1, keepdim=True)  # (B, 1) real tokens, right-padded
            pos = torch.cumsum(attention_mask, dim=1)  # 1..n on real tokens
            rows.append((pos > n - self.tail_tokens).to(torch.float32) * mask)
        # every view's sum in one (B, V, T) @ (B, T, d) MatMul (a ReduceSum over the token
        # axis costs several times more in ONNX Runtime)
        sums = torch.bmm(torch.stack(rows, dim=1), vecs)  # (B, V, d)
        pooled = sums / sums.norm(dim=2, keepdim=True).clamp(min=1e-6)
        return torch.cat([pooled.flatten(1), self.scalars(input_ids, mask)], dim=1)


class TransformerFeaturizer(nn.Module):
    """MiniLM sentence embedding (mean-pooled, normalised) + scalars -> (B, 384 + 1 + F)."""

    kind = "transformer"

    def __init__(self, bert: Any, flags: np.ndarray) -> None:
        super().__init__()
        self.bert = bert
        self.scalars = ScalarFeatures(flags)
        self.out_dim = int(bert.config.hidden_size) + 1 + flags.shape[1]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = (h * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
        pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-6)
        return torch.cat([pooled, self.scalars(input_ids, mask)], dim=1)


@torch.inference_mode()
def featurize(module: nn.Module, tok: Tokenizer, texts: list[str],
              batch: int = 512) -> np.ndarray:
    """Run a featurizer over texts in batches. Returns (n, out_dim) float32."""
    from tqdm import tqdm

    from router_model.tokenization import encode

    out = []
    steps = range(0, len(texts), batch)
    for start in tqdm(steps, desc=f"featurize ({module.kind})", unit="batch",
                      disable=len(steps) < 4):
        ids, mask = encode(tok, list(texts[start:start + batch]))
        out.append(module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy())
    return np.concatenate(out).astype(np.float32)


def build_featurizer(kind: str, tok: Tokenizer, corpus: list[str], dim: int = 256,
                     sif_a: float = 1e-3, tail_tokens: int = TAIL_TOKENS
                     ) -> tuple[nn.Module, dict[str, object]]:
    """Make a featurizer and its manifest entry ``{kind, dim, sha256, ...}``.

    Args:
        kind: "static" (distilled table, SIF weights from ``corpus``) or "transformer".
        corpus: training queries (token frequencies for SIF weighting).
        tail_tokens: static only: length of the prompt-tail view (0 = none).
    """
    from router_model.distill import array_sha256, distill_table, load_sentence_model

    flags = token_flags(tok)
    module: StaticFeaturizer | TransformerFeaturizer
    info: dict[str, object]
    if kind == "static":
        table = distill_table(dim)
        vocab = table.vectors.shape[0]
        w = sif_weights(count_tokens(tok, corpus, vocab), sif_a) if sif_a > 0 else \
            np.ones(vocab, dtype=np.float32)
        static = StaticFeaturizer(table.vectors, w, flags, tail_tokens)
        sha = array_sha256(static.table.weight.detach().numpy())
        module, info = static, {"table_sha256": table.sha256,
                                "source_sha256": table.source_sha256, "sif_a": sif_a,
                                "tail_tokens": tail_tokens}
    elif kind == "transformer":
        bert = load_sentence_model()
        module = TransformerFeaturizer(bert, flags)
        sha = array_sha256(bert.embeddings.word_embeddings.weight.detach().numpy())
        info = {"source": "all-MiniLM-L6-v2"}
    else:
        raise ValueError(f"featurizer.kind: expected 'static' or 'transformer', got {kind!r}")
    return module.eval(), {"kind": kind, "dim": module.out_dim, "sha256": sha,
                           "flags": list(FLAG_NAMES), **info}
