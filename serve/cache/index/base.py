"""The vector-index base and its registry.

An index holds unit vectors (d,) float32 under int64 ids and returns the ids of the
``k`` largest inner products (cosine similarity) with a query. Removing an id that is
not there is a no-op. Implementations are not thread-safe; the cache serialises calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

REGISTRY: dict[str, type[VectorIndex]] = {}
T = TypeVar("T", bound="type[VectorIndex]")


class VectorIndex(ABC):
    """Inner-product nearest-neighbour index over (n, dim) float32 unit vectors."""

    kind = "base"

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim: expected >= 1, got {dim}")
        self.dim = dim

    def check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validated (n,) int64 ids and (n, dim) C-contiguous float32 vectors."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors: expected dim {self.dim}, got {vectors.shape[1]}")
        return ids, vectors

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (n,) ids with (n, dim) vectors (an id already present is replaced)."""

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> None:
        """Drop these ids (absent ones are ignored)."""

    @abstractmethod
    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(dim,) query -> (ids (k',), similarities (k',)) best first, k' <= k."""

    @abstractmethod
    def __len__(self) -> int: ...


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make an index kind available to ``make_index``."""
    def deco(cls: T) -> T:
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return deco


def make_index(kind: str, dim: int, **params: Any) -> VectorIndex:
    """Build an index of a registered kind (``exact``, ``hnsw``, ``auto``)."""
    if kind not in REGISTRY:
        raise ValueError(f"index.kind: expected one of {sorted(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind](dim, **params)


def top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values of (n,) ``sims``, largest first."""
    if k >= len(sims):
        return np.argsort(-sims, kind="stable")
    part = np.argpartition(-sims, k - 1)[:k]
    return part[np.argsort(-sims[part], kind="stable")]
