"""The rate limit without a server: the token-bucket rule, the in-process limiter with a
fake clock, and the stage's decisions (429 with Retry-After, per-key limits, unlimited
keys, the anonymous bucket, Redis down open or closed). The Redis limiter across
replicas: tests/replicas/test_rate_limits.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from serve.context import RequestContext
from serve.errors import GatewayError
from serve.keys import KeyRecord
from serve.settings import StateSettings
from serve.stages.rate_limit import RateLimitStage
from serve.state.base import StateUnavailable
from serve.state.rate_limits import LocalRateLimiter, RateLimit, RateLimiter, Verdict, take


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_take_serves_the_burst_then_the_refill_rate() -> None:
    limit = RateLimit(rate_per_s=2.0, burst=3)
    tokens, t, served = 3.0, 0.0, 0
    for _ in range(10):  # ten requests at the same instant: the burst only
        ok, tokens, wait = take(tokens, t, t, limit)
        served += ok
    assert served == 3 and wait == pytest.approx(0.5)
    ok, tokens, _ = take(tokens, 0.0, 0.5, limit)  # half a second = one token at 2/s
    assert ok and tokens == pytest.approx(0.0)
    ok, tokens, _ = take(tokens, 0.5, 100.0, limit)  # a long pause refills to burst only
    assert ok and tokens == pytest.approx(2.0)
    ok, after, _ = take(1.5, 10.0, 5.0, limit)  # a clock going back refills nothing
    assert ok and after == pytest.approx(0.5)


def test_the_limit_is_checked() -> None:
    with pytest.raises(ValueError, match="burst >= 1"):
        RateLimit(1.0, 0.5)
    with pytest.raises(ValueError, match="rate_per_s > 0"):
        RateLimit(0.0, 2)


def test_local_limiter_over_an_interval_serves_at_most_burst_plus_rate_times_t() -> None:
    clock = Clock()
    lim = LocalRateLimiter(clock)
    limit = RateLimit(rate_per_s=5.0, burst=10)
    served = 0
    for _ in range(200):  # 200 requests spread over 10 s (one every 50 ms)
        served += asyncio.run(lim.acquire("k", limit)).allowed
        clock.t += 0.05
    # first request at 0, last at 9.95 s: burst 10 + 9.95 s x 5/s = 59.75 -> 59 served
    assert served == 59
    assert asyncio.run(lim.acquire("other", limit)).allowed  # buckets are per name


def _stage(**kw: Any) -> tuple[RateLimitStage, Any]:
    stage = RateLimitStage(**kw)
    svc = SimpleNamespace(settings=SimpleNamespace(state=StateSettings()),
                          metrics=SimpleNamespace(registry=CollectorRegistry()))
    asyncio.run(stage.start(svc))
    stage.limiter = LocalRateLimiter(Clock())  # a frozen clock: no refill while a test runs
    return stage, svc


def _ctx(key: KeyRecord | None) -> RequestContext:
    ctx = RequestContext(request_id="r", raw=b"{}", headers={})
    ctx.key = key
    return ctx


ALICE = KeyRecord("k1", "alice", None, None)
BATCH = KeyRecord("k2", "batch", None, None)
CI = KeyRecord("k3", "ci", None, None)


def test_the_stage_refuses_past_the_burst_with_429_and_retry_after() -> None:
    stage, svc = _stage(requests_per_minute=60, burst=2)
    for _ in range(2):
        ctx = _ctx(ALICE)
        asyncio.run(stage.before(ctx, svc))
        assert ctx.extra_headers["x-ratelimit-limit-requests"] == "60"
    assert ctx.extra_headers["x-ratelimit-remaining-requests"] == "0"
    ctx = _ctx(ALICE)
    with pytest.raises(GatewayError) as e:
        asyncio.run(stage.before(ctx, svc))
    err = e.value
    assert err.status == 429 and err.code == "rate_limit_exceeded" and err.type == "requests"
    assert err.headers["retry-after"] == "1"  # one token per second, rounded up
    assert ctx.state["rate-limit"]["log"]["refused"] is True
    assert stage.refused._value.get() == 1


def test_per_key_limits_unlimited_keys_and_the_anonymous_bucket() -> None:
    stage, svc = _stage(requests_per_minute=60, burst=1,
                        keys={"batch": {"requests_per_minute": 600, "burst": 5},
                              "k3": {"requests_per_minute": 0}})
    served = {}
    for key in (ALICE, BATCH, CI, None):
        n = 0
        for _ in range(20):
            try:
                asyncio.run(stage.before(_ctx(key), svc))
                n += 1
            except GatewayError:
                pass
        served[key.name if key else "anonymous"] = n
    assert served == {"alice": 1, "batch": 5, "ci": 20, "anonymous": 1}


def test_the_stage_config_is_checked_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"rate_limit\.stage\.store"):
        RateLimitStage(store="memcached")
    with pytest.raises(ValueError, match=r"rate_limit\.stage\.on_unavailable"):
        RateLimitStage(on_unavailable="maybe")
    with pytest.raises(ValueError, match=r"rate_limit\.stage\.keys\.x"):
        RateLimitStage(keys={"x": {"rpm": 5}})
    with pytest.raises(ValueError, match="requests_per_minute >= 0"):
        RateLimitStage(requests_per_minute=-1)


class Down(RateLimiter):
    async def acquire(self, bucket: str, limit: RateLimit) -> Verdict:
        raise StateUnavailable("Redis rate limits at redis://x is unreachable")


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_an_unreachable_store_fails_open_or_closed_by_config(mode: str) -> None:
    stage, svc = _stage(on_unavailable=mode)
    stage.limiter = Down()
    ctx = _ctx(ALICE)
    if mode == "open":
        asyncio.run(stage.before(ctx, svc))  # served, unchecked, counted
        assert ctx.state["rate-limit"]["log"] == {"unchecked": True}
        assert stage.unlimited._value.get() == 1
    else:
        with pytest.raises(GatewayError) as e:
            asyncio.run(stage.before(ctx, svc))
        assert e.value.status == 503 and e.value.code == "state_unavailable"
