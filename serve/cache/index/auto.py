"""Exact search while a partition is small, HNSW once it reaches ``switch_at`` entries.

Most partitions (one tenant x one context) hold a handful of entries, where a
matrix-vector product beats any graph; ``lmroute bench cache`` measures where the
crossover lies, and ``switch_at`` defaults to it. Switching copies the vectors once; a
partition that shrinks again stays on HNSW.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from serve.cache.index.base import VectorIndex, register
from serve.cache.index.exact import ExactIndex
from serve.cache.index.hnsw import HnswIndex

SWITCH_AT = 2_000


@register("auto")
class AutoIndex(VectorIndex):
    """Exact below ``switch_at`` entries, then hnswlib with ``hnsw`` parameters."""

    def __init__(self, dim: int, switch_at: int = SWITCH_AT, m: int = 16,
                 ef_construction: int = 100, ef_search: int = 48) -> None:
        super().__init__(dim)
        self.switch_at = switch_at
        self._hnsw_params = {"m": m, "ef_construction": ef_construction,
                             "ef_search": ef_search}
        self._inner: VectorIndex = ExactIndex(dim)

    @property
    def inner_kind(self) -> str:
        return self._inner.kind

    def __len__(self) -> int:
        return len(self._inner)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._inner.add(ids, vectors)
        if isinstance(self._inner, ExactIndex) and len(self._inner) >= self.switch_at:
            n = len(self._inner)
            hnsw = HnswIndex(self.dim, capacity=2 * n, **self._hnsw_params)
            hnsw.add(self._inner._ids[:n].copy(), self._inner._vecs[:n].copy())
            self._inner = hnsw

    def remove(self, ids: Iterable[int]) -> None:
        self._inner.remove(ids)

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._inner.search(vector, k)
