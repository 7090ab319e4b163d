"""Rate limits in Redis: one exact bucket for several limiters (= replicas), with a
negative control (the same traffic through a read-check-write bucket overshoots), the Lua
script's arithmetic equal to the Python rule's, and an unreachable Redis refused fast
then recovered without a new limiter. Through two real replicas: test_two_replicas.py."""

from __future__ import annotations

import asyncio
import time

import pytest

from serve.state.base import StateUnavailable
from serve.state.rate_limits import RateLimit, RedisRateLimiter, take
from tests.replicas.services import SERVERS, Redis, new_redis, remove

pytestmark = SERVERS
SLOW = RateLimit(rate_per_s=1e-6, burst=40)  # no refill within a test: the burst is exact


async def _hammer(limiters: list[RedisRateLimiter], bucket: str, limit: RateLimit,
                  per_limiter: int) -> list[int]:
    """``per_limiter`` concurrent acquisitions through each limiter, started alternately
    (a round-robin balancer); served per limiter."""
    async def one(lim: RedisRateLimiter) -> int:
        return int((await lim.acquire(bucket, limit)).allowed)

    n = len(limiters)
    got = await asyncio.gather(*(one(limiters[i % n]) for i in range(n * per_limiter)))
    return [sum(got[i::n]) for i in range(n)]


def test_two_limiters_share_one_exact_bucket(redis_server: Redis, ns: str) -> None:
    async def run() -> list[int]:
        lims = [RedisRateLimiter(redis_server.url, ns) for _ in range(2)]
        try:
            return await _hammer(lims, "alice", SLOW, 60)
        finally:
            for lim in lims:
                await lim.close()

    served = asyncio.run(run())
    assert sum(served) == 40  # exactly the burst of 120 concurrent requests, no more
    assert all(n > 0 for n in served)  # both replicas served from the one bucket


def test_negative_control_read_check_write_overshoots(redis_server: Redis, ns: str) -> None:
    """The same traffic through a bucket read, decided in the client, then written back
    (what a per-replica copy of the bucket amounts to) serves more than the burst."""
    from serve.state.connection import redis_async

    async def run() -> int:
        r = redis_async(redis_server.url, 5.0, max_connections=64)
        key = f"{ns}:naive"

        async def acquire() -> int:
            tokens = float(await r.get(key) or SLOW.burst)
            await asyncio.sleep(0.001)  # the round trip between the read and the write
            if tokens < 1:
                return 0
            await r.set(key, tokens - 1)
            return 1

        try:
            return sum(await asyncio.gather(*(acquire() for _ in range(120))))
        finally:
            await r.aclose()

    assert asyncio.run(run()) > SLOW.burst


def test_the_lua_script_computes_what_the_python_rule_computes(redis_server: Redis,
                                                                ns: str) -> None:
    """Refill and retry time on the server's clock (the ``us`` the script stored) agree
    with ``take`` fed the same instants."""
    import redis

    limit = RateLimit(rate_per_s=5.0, burst=2)
    r = redis.Redis.from_url(redis_server.url)

    async def run() -> list[tuple[bool, int, float, float]]:
        lim = RedisRateLimiter(redis_server.url, ns)
        out = []
        try:
            for pause in (0, 0, 0, 0.3, 0, 1.0):
                await asyncio.sleep(pause)
                v = await lim.acquire("b", limit)
                server_us = int(r.hget(f"{ns}:rate:b", "us"))
                out.append((v.allowed, v.remaining, v.retry_after_s, server_us / 1e6))
        finally:
            await lim.close()
        return out

    got = asyncio.run(run())
    r.close()
    assert not got[2][0] and got[3][0]  # the burst ran out, then refilled
    tokens, last = float(limit.burst), got[0][3]
    for allowed, remaining, retry, t in got:
        ok, tokens, wait = take(tokens, last, t, limit)
        last = t
        assert ok == allowed and remaining == int(tokens)
        assert retry == pytest.approx(wait, abs=2e-6)  # the script rounds up to the us


def test_unreachable_redis_is_refused_fast_then_recovers_without_a_new_limiter() -> None:
    srv = new_redis()
    try:
        async def run() -> None:
            lim = RedisRateLimiter(srv.url, "deg", timeout_s=0.3, reconnect_s=0.5)
            assert (await lim.acquire("k", SLOW)).allowed
            srv.stop()
            with pytest.raises(StateUnavailable):
                await lim.acquire("k", SLOW)
            t = time.perf_counter()
            with pytest.raises(StateUnavailable, match="retrying"):
                await lim.acquire("k", SLOW)  # breaker open: refused at once
            assert time.perf_counter() - t < 0.05
            assert lim.describe()["healthy"] is False
            srv.start()  # same port, empty (no persistence): a full bucket again
            await asyncio.sleep(0.6)
            assert (await lim.acquire("k", SLOW)).allowed
            assert lim.describe()["healthy"] is True
            await lim.close()

        asyncio.run(run())
    finally:
        srv.stop()
        remove(srv.dir)


def test_a_redis_at_maxmemory_refusing_writes_is_unavailable_not_an_error() -> None:
    """``maxmemory`` reached with ``noeviction``: Redis answers writes with an OOM error.
    Budgets then refuse (fail closed, 503 through the keys service) and the rate limit
    fails open, as when Redis is gone, instead of an internal error; with memory back the
    same stores recover."""
    import redis

    from serve.keys import KeyRecord
    from serve.state.redis_budgets import RedisBudgetStore

    srv = new_redis()
    admin = redis.Redis.from_url(srv.url)
    try:
        budgets = RedisBudgetStore(srv.url, "oom", reconnect_s=0.3)
        key = KeyRecord("oom000000001", "erin", None, 1.0)
        assert budgets.reserve(key, 0.1, "2026-12-02")
        admin.config_set("maxmemory", "1")  # below what Redis already uses: writes refused
        with pytest.raises(StateUnavailable, match=r"OOM|unreachable"):
            budgets.reserve(key, 0.1, "2026-12-02")

        async def limited() -> None:
            lim = RedisRateLimiter(srv.url, "oom", reconnect_s=0.3)
            with pytest.raises(StateUnavailable):
                await lim.acquire("k", SLOW)
            admin.config_set("maxmemory", "512mb")
            await asyncio.sleep(0.4)
            assert (await lim.acquire("k", SLOW)).allowed
            await lim.close()

        asyncio.run(limited())
        time.sleep(0.4)
        assert budgets.reserve(key, 0.1, "2026-12-02")
        budgets.close()
    finally:
        admin.close()
        srv.stop()
        remove(srv.dir)
