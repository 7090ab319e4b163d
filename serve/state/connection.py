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
from collections.abc import Callable
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
        return time.monotonic() < self._down_until

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``; a connection error opens the breaker and raises StateUnavailable."""
        if self.down:
            self.fast_failures += 1
            raise StateUnavailable(f"{self.what} is unreachable ({self.last_error}); retrying "
                                   f"within {self.reconnect_s:g} s")
        try:
            out = fn(*args)
        except self.errors as exc:
            self.trip(exc)
            raise StateUnavailable(f"{self.what} is unreachable: {exc}") from exc
        self.reset()
        return out

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
        return {"down": self.down, "failures": self.failures,
                "fast_failures": self.fast_failures, "last_error": self.last_error or None}


def redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError, OSError)


def redis_sync(url: str, timeout_s: float) -> Any:
    """A thread-safe, pooled sync client that never retries by itself (a retried write
    could apply twice)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                retry=Retry(NoBackoff(), 0), health_check_interval=0)


def redis_async(url: str, timeout_s: float | None) -> Any:
    """An asyncio client (pub/sub and the health store's writes); ``timeout_s`` None for a
    subscriber that blocks on reads."""
    import redis.asyncio as aredis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return aredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=2.0,
                                 retry=Retry(NoBackoff(), 0))
