"""Request-rate limits: one token bucket per API key, in this process or shared in Redis.

The rule (``take``, the one place it lives in Python; ``TAKE_LUA`` is the same arithmetic
for Redis, checked against it by ``tests/replicas/test_rate_limits.py``): a bucket holds
at most ``burst`` tokens and refills at ``rate_per_s``; a request takes one token or is
refused with the time until one is back. Over any interval of T seconds a key is served
at most ``burst + rate_per_s * T`` requests, however many replicas serve it.

``LocalRateLimiter`` (one process) keeps the buckets in a dict under a lock.
``RedisRateLimiter`` keeps one hash per key, ``{ns}:rate:{key}`` (fields ``tokens``,
``us``), updated by a Lua script that Redis runs alone, with the *server's* clock
(``TIME``), so replicas with skewed clocks still share one exact bucket. A hash expires
once the bucket would be full again (an absent hash is a full bucket).

Redis unreachable: ``acquire`` raises ``StateUnavailable``; the stage then serves the
request unlimited (``on_unavailable: open``, the default: a rate limit protects capacity,
not money; budgets fail closed) or refuses it with 503 (``closed``).
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from serve.state.base import register

RATE_LIMITERS: dict[str, type[Any]] = {}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate_per_s`` tokens per second, at most ``burst`` at once (both > 0)."""

    rate_per_s: float
    burst: float

    def __post_init__(self) -> None:
        if not (0 < self.rate_per_s < math.inf and 1 <= self.burst < math.inf):
            raise ValueError(f"rate limit: expected rate_per_s > 0 and burst >= 1, got "
                             f"{self.rate_per_s}, {self.burst}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one request: served or not, whole tokens left, seconds until the
    next token (0 when served)."""

    allowed: bool
    remaining: int
    retry_after_s: float


def take(tokens: float, last_s: float, now_s: float, limit: RateLimit
         ) -> tuple[bool, float, float]:
    """One request against a bucket holding ``tokens`` at ``last_s``: (allowed, tokens
    after, seconds until a token is back). A clock that went backwards refills nothing."""
    tokens = min(limit.burst, tokens + max(0.0, now_s - last_s) * limit.rate_per_s)
    if tokens >= 1.0:
        return True, tokens - 1.0, 0.0
    return False, tokens, (1.0 - tokens) / limit.rate_per_s


class RateLimiter(ABC):
    """Token buckets by name (an API key's id); ``acquire`` is atomic per bucket."""

    @abstractmethod
    async def acquire(self, bucket: str, limit: RateLimit) -> Verdict: ...

    def describe(self) -> dict[str, object]:
        return {"kind": "local"}

    async def close(self) -> None:  # noqa: B027  (in-process buckets hold nothing)
        """Release connections."""


@register(RATE_LIMITERS, "local")
class LocalRateLimiter(RateLimiter):
    """This process's buckets (one replica; the default)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    async def acquire(self, bucket: str, limit: RateLimit) -> Verdict:
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(bucket, (limit.burst, now))
            ok, tokens, wait = take(tokens, last, now, limit)
            self._buckets[bucket] = (tokens, now)
        return Verdict(ok, int(tokens), wait)


# KEYS[1] the bucket; ARGV: rate per second, burst. Returns {allowed, remaining, wait_us}.
# The arithmetic of ``take`` (above), with the server's clock.
TAKE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'us')
local tokens = tonumber(h[1] or ARGV[2])
local last = tonumber(h[2] or now)
tokens = math.min(burst, tokens + math.max(0, now - last) / 1000000 * rate)
local ok = 0
local wait = 0
if tokens >= 1 then
  ok = 1
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000000)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'us', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {ok, math.floor(tokens), wait}
"""


@register(RATE_LIMITERS, "redis")
class RedisRateLimiter(RateLimiter):
    """Buckets in Redis, shared by every replica (see module). ``client``: an existing
    asyncio client (tests)."""

    def __init__(self, url: str, namespace: str = "lmroute", timeout_s: float = 0.5,
                 reconnect_s: float = 1.0, client: Any = None) -> None:
        from serve.state.connection import Breaker, redis_async, redis_errors

        self.r: Any = client or redis_async(url, timeout_s, max_connections=64)
        self.ns = namespace
        self.breaker = Breaker(f"Redis rate limits at {url}", reconnect_s, redis_errors())
        self._take = self.r.register_script(TAKE_LUA)

    async def acquire(self, bucket: str, limit: RateLimit) -> Verdict:
        ok, remaining, wait_us = await self.breaker.acall(
            self._take, [f"{self.ns}:rate:{bucket}"], [repr(limit.rate_per_s),
                                                       repr(float(limit.burst))])
        return Verdict(bool(ok), int(remaining), int(wait_us) / 1e6)

    def describe(self) -> dict[str, object]:
        return {"kind": "redis", **self.breaker.describe()}

    async def close(self) -> None:
        await self.r.aclose()
