"""Where entries live: the entry-store base and its registry.

A store holds ``CacheEntry`` objects under ids it assigns, answers the exact tier
(``get_exact``), enforces TTL (an entry past ``expires`` is never returned) and the size
bounds (``max_entries`` overall, ``max_entries_per_tenant``; the least recently used
entry goes first), and selects entries for invalidation. It does not search vectors:
the cache keeps one in-process index per partition and learns of entries added or
removed elsewhere (another replica, Redis' own expiry) from ``changes()``.

Hits do not extend an entry's life unless ``refresh_ttl_on_hit`` is set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from serve.cache.entry import CacheEntry

REGISTRY: dict[str, type[EntryStore]] = {}
T = TypeVar("T", bound="type[EntryStore]")


@dataclass(frozen=True)
class IndexEvent:
    """An entry added (with its partition and vector) or removed somewhere else."""

    op: str  # "add" | "remove"
    entry_id: int
    partition: str = ""
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class StoreLimits:
    """Size bounds and TTL policy of a store (0 = unbounded)."""

    max_entries: int = 100_000
    max_entries_per_tenant: int = 0
    refresh_ttl_on_hit: bool = False


class EntryStore(ABC):
    """Entries by id and by exact key, TTL, size bounds, invalidation (see module)."""

    kind = "base"

    def __init__(self, limits: StoreLimits) -> None:
        if limits.max_entries < 0 or limits.max_entries_per_tenant < 0:
            raise ValueError("max_entries, max_entries_per_tenant: expected >= 0")
        self.limits = limits

    @abstractmethod
    def put(self, entry: CacheEntry, now: float) -> list[int]:
        """Store ``entry`` (sets ``entry_id``; replaces an entry with the same exact key);
        returns the ids removed to make room (or replaced)."""

    @abstractmethod
    def get(self, entry_id: int, now: float) -> CacheEntry | None:
        """The live entry with this id, else None."""

    @abstractmethod
    def get_exact(self, exact: str, now: float) -> CacheEntry | None:
        """The live entry whose ``key.exact`` digest is ``exact``, else None."""

    @abstractmethod
    def hit(self, entry: CacheEntry, now: float, ttl_s: float) -> None:
        """Record a hit: most recently used; TTL restarted only if configured."""

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> list[int]:
        """Remove these ids; returns those that were present."""

    @abstractmethod
    def select(self, *, tenant: str | None = None, model: str | None = None,
               session: str | None = None, texts: tuple[str, ...] = ()) -> list[int]:
        """Ids of the entries matching every given criterion (``model`` matches the
        requested or the serving model; ``texts``: query or answer contains one)."""

    @abstractmethod
    def expire(self, now: float) -> list[int]:
        """Remove expired entries; returns their ids."""

    def changes(self) -> list[IndexEvent]:
        """Entries added / removed by others since the last call (a shared store)."""
        return []

    def entries(self) -> Iterable[CacheEntry]:
        """Every live entry (to rebuild indexes)."""
        return ()

    @abstractmethod
    def __len__(self) -> int: ...

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing)
        """Release connections."""


def register(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return deco


def make_store(kind: str, limits: StoreLimits, **params: Any) -> EntryStore:
    if kind not in REGISTRY:
        raise ValueError(f"store.kind: expected one of {sorted(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind](limits, **params)
