"""The conversation memory's erasure hook into the cache.

The memory's ``Eraser`` takes ``extra_stores`` with ``purge(owner, session_id, ids) ->
int`` and ``scan(needles) -> list[StoreScan]``. ``CacheEraser`` is that for a cache:
``purge`` removes every entry stored from the session (requests carrying
``x-lmroute-session: <session_id>``; a cached answer is derived from its session's
messages, so the whole session's entries go, whichever message ids were erased);
``scan`` counts entries whose query or answer still contains an erased n-gram.

The cache stage registers its cache at start (``register``); ``erasers()`` gives the
memory what to pass as ``extra_stores``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from serve.cache.cache import SemanticCache

_ACTIVE: list[SemanticCache] = []


class CacheEraser:
    """``purge`` / ``scan`` over one cache (see module)."""

    def __init__(self, cache: SemanticCache) -> None:
        self.cache = cache

    def purge(self, owner: str, session_id: str, ids: Sequence[str] | None = None) -> int:
        return self.cache.erase(session=session_id)

    def scan(self, needles: Sequence[str]) -> list[Any]:
        from serve.memory.types import StoreScan

        entries = list(self.cache.store.entries())
        hits = [e for e in entries if e.mentions(tuple(needles))]
        return [StoreScan("semantic cache", len(entries), len(hits), "entries",
                          [f"entry {e.entry_id}" for e in hits[:20]])]


def register(cache: SemanticCache) -> None:
    if cache not in _ACTIVE:
        _ACTIVE.append(cache)


def unregister(cache: SemanticCache) -> None:
    if cache in _ACTIVE:
        _ACTIVE.remove(cache)


def erasers() -> list[CacheEraser]:
    """One eraser per cache running in this process (the memory's ``extra_stores``)."""
    return [CacheEraser(c) for c in _ACTIVE]
