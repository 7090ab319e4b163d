"""Backend health in Redis: a cooldown started by one replica's failures is honoured by
another (failures counted by both together), a success anywhere resets the shared count,
Redis gone = each replica on its own (the single-process rules), and once Redis is back a
cooldown started alone becomes everyone's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from serve.state.redis_health import RedisHealthStore, SharedBackendHealth
from tests.replicas.services import SERVERS, Redis, new_redis, remove

pytestmark = SERVERS


async def _until(cond: Callable[[], bool], timeout_s: float = 3.0) -> float:
    """Seconds until ``cond()`` holds (AssertionError after ``timeout_s``)."""
    t = time.perf_counter()
    while not cond():
        if time.perf_counter() - t > timeout_s:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)
    return time.perf_counter() - t


async def _pair(url: str, ns: str, **kw: float) -> tuple[RedisHealthStore, RedisHealthStore,
                                                        SharedBackendHealth,
                                                        SharedBackendHealth]:
    a, b = RedisHealthStore(url, ns, **kw), RedisHealthStore(url, ns, **kw)
    ha, hb = a.health_for("up", 3, 30.0), b.health_for("up", 3, 30.0)
    await a.start()
    await b.start()
    await _until(lambda: a.connected and b.connected)
    assert isinstance(ha, SharedBackendHealth) and isinstance(hb, SharedBackendHealth)
    return a, b, ha, hb


def test_a_cooldown_started_by_one_replica_is_honoured_by_the_other(redis_server: Redis,
                                                                    ns: str) -> None:
    async def go() -> float:
        a, b, ha, hb = await _pair(redis_server.url, ns)
        ha.record_failure()
        await _until(lambda: hb.consecutive_failures == 1)  # counts are shared
        hb.record_failure()
        await _until(lambda: ha.consecutive_failures == 2)
        assert ha.is_live() and hb.is_live()
        ha.record_failure()  # the third consecutive failure, fleet-wide
        lag = await _until(lambda: not hb.is_live())
        assert 29.0 < hb.cooldown_left_s() <= 30.0
        await a.close()
        await b.close()
        return lag

    assert asyncio.run(go()) < 1.0


def test_a_success_anywhere_resets_the_shared_count(redis_server: Redis, ns: str) -> None:
    async def go() -> None:
        a, b, ha, hb = await _pair(redis_server.url, ns)
        ha.record_failure()
        ha.record_failure()
        await _until(lambda: hb.consecutive_failures == 2)
        hb.record_success()
        await _until(lambda: ha.consecutive_failures == 0)
        ha.record_failure()  # one failure after the reset: no cooldown anywhere
        await _until(lambda: hb.consecutive_failures == 1)
        assert ha.is_live() and hb.is_live()
        await a.close()
        await b.close()

    asyncio.run(go())


def test_negative_control_local_health_is_not_shared() -> None:
    """Without the shared store (the local default) replica B never learns of A's cooldown."""
    from serve.backends.health import BackendHealth

    ha, hb = BackendHealth(3, 30.0), BackendHealth(3, 30.0)
    for _ in range(3):
        ha.record_failure()
    assert not ha.is_live() and hb.is_live()


def test_redis_down_each_replica_alone_then_cooldowns_shared_again() -> None:
    srv = new_redis()
    try:
        async def go() -> None:
            a, b, ha, hb = await _pair(srv.url, "deg", reconnect_s=0.3, sync_s=0.5)
            srv.stop()
            await _until(lambda: not a.connected and not b.connected)
            for _ in range(3):  # alone: the single-process rule still cools it down
                assert ha.is_live()
                ha.record_failure()
            assert not ha.is_live() and hb.is_live()
            await _until(lambda: a.unsent >= 3)  # counted, never raised
            srv.start()
            await _until(lambda: a.connected and b.connected, 5.0)
            await _until(lambda: not hb.is_live(), 3.0)  # A's cooldown became B's
            assert hb.cooldown_left_s() > 20
            await a.close()
            await b.close()

        asyncio.run(go())
    finally:
        srv.stop()
        remove(srv.dir)
