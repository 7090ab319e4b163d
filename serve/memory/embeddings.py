"""Retrieval by the router's static token embeddings (router_model/distill.py: the
MiniLM token table distilled once and cached), pooled with SIF weights estimated from the
session's own messages (router_model/featurizer.py: ``sif_weights``), and the hybrid of
that with BM25 by reciprocal-rank fusion.

``dim`` 384 keeps the table's full width (no PCA: ``distill_table`` then only centres
it, so loading takes no fitting); PCA to 256, as the router uses, ranked the same on
LoCoMo (evidence turns in the top 10: 0.644 at 384, 0.638 at 256).

Document vectors are recomputed when the session's token statistics change (a sparse
(n, V) count matrix times the weighted table over the session's vocabulary only; about a
millisecond for 600 messages).
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np

from serve.memory.retrieval import BM25, Scorer, SessionIndex, register


@lru_cache(maxsize=2)
def _table(dim: int) -> np.ndarray:
    from router_model.distill import distill_table

    return distill_table(dim).vectors


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    from router_model.tokenization import source_model_dir

    tok = Tokenizer.from_file(str(source_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def _rrf(*scores: np.ndarray, k: float = 60.0) -> np.ndarray:
    """Reciprocal-rank fusion of score vectors (n,) -> (n,)."""
    out = np.zeros_like(scores[0], dtype=np.float64)
    for s in scores:
        ranks = np.empty(len(s), dtype=np.int64)
        ranks[np.argsort(-s, kind="stable")] = np.arange(len(s))
        out += 1.0 / (k + ranks)
    return out


@register("static")
class StaticScorer(Scorer):
    """Cosine similarity of SIF-pooled static token embeddings."""

    def __init__(self, dim: int = 384, sif_a: float = 1e-3) -> None:
        self.dim, self.sif_a = dim, sif_a
        self._lock = threading.Lock()

    def extend(self, index: SessionIndex, start: int) -> None:
        tok = _tokenizer()
        ids = index.extra.setdefault("tok_ids", [])
        counts = index.extra.setdefault("tok_counts", Counter())
        for enc in tok.encode_batch(index.texts[start:], add_special_tokens=False):
            ids.append(enc.ids)
            counts.update(enc.ids)
        index.extra.pop("vectors", None)

    def _weights(self, index: SessionIndex) -> tuple[np.ndarray, dict[int, int]]:
        from router_model.featurizer import sif_weights

        table = _table(self.dim)
        counts = np.zeros(table.shape[0], dtype=np.float64)
        vocab = index.extra["tok_counts"]
        for t, c in vocab.items():
            counts[t] = c
        return sif_weights(counts, self.sif_a), {t: i for i, t in enumerate(sorted(vocab))}

    def _vectors(self, index: SessionIndex) -> tuple[np.ndarray, np.ndarray]:
        """(n, d) normalised document vectors and the (V,) weights they used."""
        cached = index.extra.get("vectors")
        if cached is not None:
            return cached
        from scipy.sparse import csr_matrix

        table = _table(self.dim)
        w, col = self._weights(index)
        rows, cols = [], []
        for r, ids in enumerate(index.extra["tok_ids"]):
            rows += [r] * len(ids)
            cols += [col[t] for t in ids]
        vocab = np.array(sorted(col), dtype=np.int64)
        m = csr_matrix((np.ones(len(rows)), (rows, cols)),
                       shape=(len(index.ids), len(vocab)))
        e = np.asarray(m @ (table[vocab] * w[vocab, None]))
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
        index.extra["vectors"] = (e, w)
        return e, w

    def scores(self, index: SessionIndex, query: str) -> np.ndarray:
        if not index.ids:
            return np.zeros(0)
        with self._lock:
            e, w = self._vectors(index)
        ids = _tokenizer().encode(query, add_special_tokens=False).ids
        table = _table(self.dim)
        q = (table[ids] * w[ids, None]).sum(0) if ids else np.zeros(table.shape[1])
        return e @ (q / max(float(np.linalg.norm(q)), 1e-9))


@register("hybrid")
class HybridScorer(Scorer):
    """BM25 and static embeddings fused by reciprocal rank (``k`` = 60)."""

    def __init__(self, k: float = 60.0, dim: int = 384) -> None:
        self.k = k
        self.bm25 = BM25()
        self.static = StaticScorer(dim)

    def extend(self, index: SessionIndex, start: int) -> None:
        self.static.extend(index, start)

    def scores(self, index: SessionIndex, query: str) -> np.ndarray:
        if not index.ids:
            return np.zeros(0)
        return _rrf(self.bm25.scores(index, query), self.static.scores(index, query), k=self.k)
