"""Stage ``rate-limit``: at most so many requests per minute per API key, exact across
replicas when the buckets are in Redis.

Plugged in by the serve group ``conf/rate_limit/`` (``lmroute serve rate_limit=local`` or
``rate_limit=redis``), right after ``admit`` (before the guard, the memory and the cache:
a refused request costs nothing else, and a cache hit counts like any request). The
bucket is the API key's id (``anonymous``, one bucket for everyone, when auth is off);
the limit is ``keys[<key name or id>]`` when set, else the default; 0 requests per
minute = unlimited. The arithmetic: ``serve/state/rate_limits.py``.

- served: headers ``x-ratelimit-limit-requests`` (per minute) and
  ``x-ratelimit-remaining-requests`` (whole tokens left);
- refused: 429 ``rate_limit_exceeded`` (type ``requests``, as OpenAI) with ``Retry-After``
  (whole seconds, rounded up) and ``x-ratelimit-reset-requests`` (seconds, 3 decimals);
  no backend call; logged like every request, counted in
  ``lmroute_rate_limited_total``;
- Redis unreachable: ``on_unavailable: open`` serves unlimited (counted in
  ``lmroute_rate_limit_unavailable_total``), ``closed`` refuses with 503
  ``state_unavailable``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from serve.context import RequestContext
from serve.errors import GatewayError
from serve.pipeline import Stage
from serve.services import Services
from serve.state.base import StateUnavailable
from serve.state.keys_service import unavailable
from serve.state.rate_limits import RATE_LIMITERS, RateLimit, RateLimiter

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class KeyLimit:
    """A key's limit as configured: ``requests_per_minute`` (0 = unlimited) and ``burst``
    (None = a minute's worth)."""

    requests_per_minute: float
    burst: float | None = None

    def limit(self, where: str) -> RateLimit | None:
        rpm, burst = self.requests_per_minute, self.burst
        if not 0 <= rpm < math.inf or (burst is not None and not 1 <= burst < math.inf):
            raise ValueError(f"{where}: expected requests_per_minute >= 0 and burst >= 1 "
                             f"(or null), got {rpm}, {burst}")
        return None if rpm == 0 else RateLimit(rpm / 60.0, burst or max(1.0, rpm))


def _key_limit(raw: Any, where: str) -> KeyLimit:
    if not isinstance(raw, dict) or set(raw) - {"requests_per_minute", "burst"}:
        raise ValueError(f"{where}: expected {{requests_per_minute: N, burst: M}}, got {raw!r}")
    return KeyLimit(float(raw.get("requests_per_minute", 0)),
                    None if raw.get("burst") is None else float(raw["burst"]))


class RateLimitStage(Stage[Services]):
    """Token buckets per key (see module). ``store``: ``local`` or ``redis`` (the URL and
    namespace of ``state``: one bucket per key for every replica)."""

    name = "rate-limit"

    def __init__(self, requests_per_minute: float = 600.0, burst: float | None = None,
                 keys: dict[str, Any] | None = None, store: str = "local",
                 on_unavailable: str = "open") -> None:
        self.default = KeyLimit(float(requests_per_minute), burst).limit("rate_limit.stage")
        self.keys = {k: _key_limit(v, f"rate_limit.stage.keys.{k}").limit(
            f"rate_limit.stage.keys.{k}") for k, v in (keys or {}).items()}
        if store not in RATE_LIMITERS:
            raise ValueError(f"rate_limit.stage.store: expected one of "
                             f"{', '.join(RATE_LIMITERS)}, got {store!r}")
        if on_unavailable not in ("open", "closed"):
            raise ValueError(f"rate_limit.stage.on_unavailable: expected open or closed, got "
                             f"{on_unavailable!r}")
        self.store, self.fail_open = store, on_unavailable == "open"
        self.limiter: RateLimiter | None = None

    async def start(self, svc: Services) -> None:
        s = svc.settings.state
        cls = RATE_LIMITERS[self.store]
        self.limiter = (cls(s.redis_url, s.namespace, s.timeout_s, s.reconnect_s)
                        if self.store == "redis" else cls())
        r = svc.metrics.registry
        self.refused = Counter("lmroute_rate_limited", "Requests refused with 429 by the "
                               "rate limit", registry=r)
        self.unlimited = Counter("lmroute_rate_limit_unavailable", "Requests the rate limit "
                                 "could not check (its store unreachable)", registry=r)
        self.retry_after_s = s.reconnect_s

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()

    def limit_for(self, ctx: RequestContext) -> tuple[str, RateLimit | None]:
        """(bucket, limit) of this request's key."""
        if ctx.key is None:
            return ANONYMOUS, self.default
        for name in (ctx.key.name, ctx.key.key_id):
            if name in self.keys:
                return ctx.key.key_id, self.keys[name]
        return ctx.key.key_id, self.default

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        assert self.limiter is not None
        bucket, limit = self.limit_for(ctx)
        if limit is None:
            return
        try:
            v = await self.limiter.acquire(bucket, limit)
        except StateUnavailable as exc:
            if self.fail_open:
                self.unlimited.inc()
                ctx.state[self.name] = {"log": {"unchecked": True}}
                return
            raise unavailable(exc, self.retry_after_s) from exc
        per_minute = f"{limit.rate_per_s * 60:g}"
        headers = {"x-ratelimit-limit-requests": per_minute,
                   "x-ratelimit-remaining-requests": str(v.remaining)}
        if v.allowed:
            ctx.extra_headers.update(headers)
            return
        self.refused.inc()
        ctx.state[self.name] = {"log": {"refused": True,
                                        "requests_per_minute": limit.rate_per_s * 60}}
        headers.update({"retry-after": str(max(1, math.ceil(v.retry_after_s))),
                        "x-ratelimit-reset-requests": f"{v.retry_after_s:.3f}s"})
        raise GatewayError(429, f"Rate limit reached: this API key may send {per_minute} "
                           "requests per minute; retry after the time in Retry-After.",
                           type_="requests", code="rate_limit_exceeded", headers=headers)

    def describe(self) -> dict[str, object]:
        return self.limiter.describe() if self.limiter is not None else {}
