"""Connections to the shared stores, and the one rule for a store that stops answering.

``Breaker``: after a failed call the store is treated as down for ``reconnect_s`` (calls
fail at once with ``StateUnavailable`` instead of each waiting for a timeout); the first
call after that tries again, and one success closes it. So a replica whose Redis or
PostgreSQL went away answers quickly in its degraded mode and recovers by itself, without
a restart, within ``reconnect_s`` of the server coming back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from serve.state.base import StateUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class Breaker:
    """Fail fast while a store is down (see module); thread-safe."""

    def __init__(self, what: str, reconnect_s: float, errors: tuple[type[BaseException], ...]
                 ) -> None:
        self.what = what
        self.reconnect_s = reconnect_s
        self.errors = errors
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.failures = 0  # calls that failed (connection or timeout)
        self.fast_failures = 0  # calls refused at once while down
        self.last_error = ""

    @property
    def down(self) -> bool:
        """Calls are refused at once (within ``reconnect_s`` of a failure)."""
        return time.monotonic() < self._down_until

    @property
    def healthy(self) -> bool:
        """False from a failed call until the next call succeeds."""
        return self._down_until == 0.0

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``; a connection error opens the breaker and raises StateUnavailable."""
        self._refuse_while_down()
        try:
            out = fn(*args)
        except self.errors as exc:
            raise self._failed(exc) from exc
        self.reset()
        return out

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` under the same rule as ``call`` (asyncio clients)."""
        self._refuse_while_down()
        try:
            out = await fn(*args)
        except self.errors as exc:
            raise self._failed(exc) from exc
        self.reset()
        return out

    def _refuse_while_down(self) -> None:
        if self.down:
            self.fast_failures += 1
            raise StateUnavailable(f"{self.what} is unreachable ({self.last_error}); retrying "
                                   f"within {self.reconnect_s:g} s")

    def _failed(self, exc: BaseException) -> StateUnavailable:
        self.trip(exc)
        return StateUnavailable(f"{self.what} is unreachable: {exc}")

    def trip(self, exc: BaseException) -> None:
        with self._lock:
            was_up = not self.down
            self._down_until = time.monotonic() + self.reconnect_s
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
        if was_up:
            log.error("%s unreachable (%s): degraded until it answers again", self.what,
                      self.last_error)

    def reset(self) -> None:
        if self._down_until:
            with self._lock:
                if self._down_until:
                    log.warning("%s answers again: recovered", self.what)
                self._down_until = 0.0

    def describe(self) -> dict[str, object]:
        return {"healthy": self.healthy, "down": self.down, "failures": self.failures,
                "fast_failures": self.fast_failures, "last_error": self.last_error or None}


def redis_errors() -> tuple[type[BaseException], ...]:
    """What makes a Redis call "unavailable": no connection, a timeout, or a Redis at
    ``maxmemory`` with ``noeviction`` refusing writes (``OOM command not allowed``: not a
    connection error, but the store cannot take the write; before this it became a 500)."""
    import redis
    from redis.exceptions import OutOfMemoryError

    return (redis.ConnectionError, redis.TimeoutError, OutOfMemoryError, OSError)


def redis_sync(url: str, timeout_s: float) -> Any:
    """A thread-safe, pooled sync client that never retries by itself (a retried write
    could apply twice)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                retry=Retry(NoBackoff(), 0), health_check_interval=0)


def redis_async(url: str, timeout_s: float | None, max_connections: int | None = None) -> Any:
    """An asyncio client (pub/sub and the health store's writes); ``timeout_s`` None for a
    subscriber that blocks on reads. ``max_connections``: a pool that many connections
    wide where a caller *waits* (up to ``timeout_s``) for a free one, for clients called
    once per request: redis-py's default pool raises ``MaxConnectionsError`` (a
    ``ConnectionError``, so "unreachable" to the breaker) past 100 concurrent calls."""
    import redis.asyncio as aredis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kw: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": 2.0,
                          "retry": Retry(NoBackoff(), 0)}
    if max_connections is None:
        return aredis.Redis.from_url(url, **kw)
    pool = aredis.BlockingConnectionPool.from_url(url, max_connections=max_connections,
                                                  timeout=timeout_s, **kw)
    return aredis.Redis(connection_pool=pool)
