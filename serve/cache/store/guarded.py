"""A shared entry store that may become unreachable (Redis): fail open or closed, by config
(``store.on_unavailable``), and recover without a restart (issue #16).

``GuardedStore`` wraps the store. While the inner store's server does not answer (a
connection error or timeout; then, for ``reconnect_s``, without trying again:
``serve.state.connection.Breaker``):

- ``open`` (default): the request path carries on without the cache: lookups miss, answers
  are not stored, hits and expiry are skipped (each counted in ``describe()``), so a
  request costs one backend call as if the cache were off;
- ``closed``: those calls raise the gateway's 503 ``state_unavailable`` (for deployments
  where a cache miss is not acceptable, e.g. the backends cannot take the load without it).

Whatever the mode, the calls an erasure or invalidation needs (``select``, ``remove``,
``entries``) always raise when the store is unreachable: a purge of erased text must fail
loudly, never report success while the entry stays in Redis. Index events missed while
failing are not replayed: an entry another replica added meanwhile is found by its exact
key (read from Redis) but not by the semantic tier of this replica until it is re-added.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from serve.cache.entry import CacheEntry
from serve.cache.store.base import EntryStore, IndexEvent
from serve.state.base import StateUnavailable
from serve.state.connection import Breaker, redis_errors
from serve.state.keys_service import unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
MODES = ("open", "closed")


class GuardedStore(EntryStore):
    """``inner`` with the failure rule of the module."""

    kind = "guarded"

    def __init__(self, inner: EntryStore, on_unavailable: str = "open",
                 reconnect_s: float = 1.0) -> None:
        if on_unavailable not in MODES:
            raise ValueError(f"store.on_unavailable: expected open or closed, got "
                             f"{on_unavailable!r}")
        super().__init__(inner.limits)
        self.inner = inner
        self.kind = inner.kind  # what the cache reports (redis)
        self.mode = on_unavailable
        self.breaker = Breaker(f"cache store ({inner.kind})", reconnect_s, redis_errors())
        self.skipped = 0  # request-path calls answered without the store (fail open)

    def _soft(self, fn: Callable[..., T], default: T, *args: Any) -> T:
        """A request-path call: the default while unreachable (open), else raise (closed)."""
        try:
            return self.breaker.call(fn, *args)
        except StateUnavailable as exc:
            if self.mode == "closed":
                raise unavailable(exc, self.breaker.reconnect_s) from exc
            self.skipped += 1
            return default

    def put(self, entry: CacheEntry, now: float) -> list[int]:
        return self._soft(self.inner.put, [], entry, now)

    def get(self, entry_id: int, now: float) -> CacheEntry | None:
        return self._soft(self.inner.get, None, entry_id, now)

    def get_exact(self, exact: str, now: float) -> CacheEntry | None:
        return self._soft(self.inner.get_exact, None, exact, now)

    def hit(self, entry: CacheEntry, now: float, ttl_s: float) -> None:
        self._soft(self.inner.hit, None, entry, now, ttl_s)

    def expire(self, now: float) -> list[int]:
        return self._soft(self.inner.expire, [], now)

    def changes(self) -> list[IndexEvent]:
        return self._soft(self.inner.changes, [])

    # -- erasure and invalidation: never silently skipped --------------------------------
    def remove(self, ids: Iterable[int]) -> list[int]:
        return self.breaker.call(self.inner.remove, list(ids))

    def select(self, *, tenant: str | None = None, model: str | None = None,
               session: str | None = None, texts: tuple[str, ...] = ()) -> list[int]:
        return self.breaker.call(lambda: self.inner.select(tenant=tenant, model=model,
                                                           session=session, texts=texts))

    def entries(self) -> Iterable[CacheEntry]:
        return self.breaker.call(lambda: list(self.inner.entries()))

    def __len__(self) -> int:
        return self._soft(self.inner.__len__, 0)

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "skipped": self.skipped, **self.breaker.describe()}

    def close(self) -> None:
        self.inner.close()
