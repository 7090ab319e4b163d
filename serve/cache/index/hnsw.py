"""Approximate search with hnswlib (HNSW graphs; inner-product space).

Removed ids are marked deleted and their slots reused by later adds
(``allow_replace_deleted``); capacity grows by doubling. One search thread.
"""

from __future__ import annotations

from collections.abc import Iterable

import hnswlib
import numpy as np

from serve.cache.index.base import VectorIndex, register


@register("hnsw")
class HnswIndex(VectorIndex):
    """hnswlib index. ``m``, ``ef_construction``: graph build; ``ef_search``: recall vs
    speed at query time (raised to k when k is larger)."""

    def __init__(self, dim: int, capacity: int = 1024, m: int = 16,
                 ef_construction: int = 100, ef_search: int = 48, seed: int = 0) -> None:
        super().__init__(dim)
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(max_elements=max(capacity, 16), ef_construction=ef_construction,
                               M=m, random_seed=seed, allow_replace_deleted=True)
        self._index.set_num_threads(1)
        self.ef_search = ef_search
        self._index.set_ef(ef_search)
        self._live: set[int] = set()
        self._deleted = 0

    def __len__(self) -> int:
        return len(self._live)

    def set_threads(self, n: int) -> None:
        """Threads hnswlib uses for adds and queries (1 by default: the serving setting)."""
        self._index.set_num_threads(n)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.check(ids, vectors)
        fresh = [i for i in ids.tolist() if i not in self._live]
        cap = self._index.get_max_elements()
        if len(self._live) + self._deleted + len(fresh) > cap:
            self._index.resize_index(max(2 * cap, len(self._live) + len(fresh) + 16))
        self._index.add_items(vectors, ids, replace_deleted=True)
        self._deleted = max(0, self._deleted - len(fresh))
        self._live.update(ids.tolist())

    def remove(self, ids: Iterable[int]) -> None:
        for i in ids:
            i = int(i)
            if i in self._live:
                self._index.mark_deleted(i)
                self._live.discard(i)
                self._deleted += 1

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self._live))
        if k < 1:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if k > self.ef_search:
            self._index.set_ef(k)
        labels, dist = self._index.knn_query(np.asarray(vector, np.float32)[None], k=k)
        if k > self.ef_search:
            self._index.set_ef(self.ef_search)
        return labels[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32)
