"""Exact search: one (capacity, dim) float32 matrix, a matrix-vector product per query.

Rows are kept dense: removing an id moves the last row into its place. Capacity
doubles when full, so adding is amortised O(dim).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from serve.cache.index.base import VectorIndex, register, top_k


@register("exact")
class ExactIndex(VectorIndex):
    """Brute-force inner-product search (see module)."""

    def __init__(self, dim: int, capacity: int = 64) -> None:
        super().__init__(dim)
        self._vecs = np.zeros((max(capacity, 1), dim), dtype=np.float32)
        self._ids = np.zeros(max(capacity, 1), dtype=np.int64)
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._row)

    def _grow(self, need: int) -> None:
        cap = len(self._ids)
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        vecs = np.zeros((cap, self.dim), dtype=np.float32)
        ids = np.zeros(cap, dtype=np.int64)
        n = len(self)
        vecs[:n], ids[:n] = self._vecs[:n], self._ids[:n]
        self._vecs, self._ids = vecs, ids

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.check(ids, vectors)
        self._grow(len(self) + len(ids))
        for i, v in zip(ids.tolist(), vectors, strict=True):
            row = self._row.get(i)
            if row is None:
                row = len(self._row)
                self._row[i] = row
                self._ids[row] = i
            self._vecs[row] = v

    def remove(self, ids: Iterable[int]) -> None:
        for i in ids:
            row = self._row.pop(int(i), None)
            if row is None:
                continue
            last = len(self._row)  # the row count after the pop
            if row != last:
                moved = int(self._ids[last])
                self._vecs[row], self._ids[row] = self._vecs[last], moved
                self._row[moved] = row

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self)
        if n == 0 or k < 1:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        sims = self._vecs[:n] @ np.asarray(vector, dtype=np.float32)
        pos = top_k(sims, k)
        return self._ids[pos], sims[pos]
