"""Budgets in Redis: exact under concurrent spending by several stores (= replicas), with a
negative control (the same traffic through a read-check-write budget overshoots), fail
closed when Redis is gone, and recovery without a new store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from serve.errors import GatewayError
from serve.keys import KeyRecord
from serve.state.base import StateUnavailable
from serve.state.keys_service import SharedKeys
from serve.state.redis_budgets import NANO, RedisBudgetStore, to_units
from tests.replicas.services import SERVERS, Redis, new_redis, remove

pytestmark = SERVERS
DAY = "2026-11-24"


def _spend(reserve: Callable[[float], bool], settle: Callable[[float, float], None],
           n_threads: int, per_thread: int, amount: float, actual: float,
           start: threading.Barrier | None = None) -> int:
    """Each thread reserves ``amount`` and settles ``actual`` ``per_thread`` times; returns
    how many reservations succeeded. ``start``: a barrier shared with other callers' threads
    (default: one for these ``n_threads``)."""
    ok = [0] * n_threads
    start = start or threading.Barrier(n_threads)

    def worker(i: int) -> None:
        start.wait()
        for _ in range(per_thread):
            if reserve(amount):
                ok[i] += 1
                settle(amount, actual)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok)


def test_units_round_reservations_up_and_costs_to_nearest() -> None:
    assert to_units(1e-9, up=True) == 1
    assert to_units(1.5e-9, up=True) == 2
    assert to_units(2.6e-9) == 3 and to_units(2.4e-9) == 2
    assert to_units(0.3, up=True) == 300_000_000  # no float noise past the nano-dollar
    with pytest.raises(ValueError, match="amount"):
        to_units(-1.0)


def test_concurrent_spending_across_replicas_overshoots_by_nothing(redis_server: Redis,
                                                                    ns: str) -> None:
    """Two stores (two replicas' clients), 8 threads each, hammer one key at its limit."""
    budget, amount = 0.05, 0.0007  # 71 reservations fit (71 x 0.0007 = 0.0497)
    key = KeyRecord("k" + ns[:11], "alice", None, budget)
    stores = [RedisBudgetStore(redis_server.url, ns) for _ in range(2)]
    n_ok = [0, 0]
    start = threading.Barrier(16)  # all 16 threads released at once: both replicas contend

    def run(i: int) -> None:
        s = stores[i]
        n_ok[i] = _spend(lambda a: s.reserve(key, a, DAY),
                         lambda r, a: s.settle(key.key_id, DAY, r, a), 8, 20, amount, amount,
                         start)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    spent, reserved = stores[0].spent(key.key_id, DAY)
    assert sum(n_ok) == int(budget // amount) == 71  # exactly what fits, no more
    assert reserved == 0.0  # every reservation settled back to exactly zero
    assert spent == pytest.approx(71 * amount, abs=1e-9) and spent <= budget
    assert all(n > 0 for n in n_ok)  # both replicas spent


def test_negative_control_read_check_write_overshoots(redis_server: Redis, ns: str) -> None:
    """The same traffic through a non-atomic budget (read, compare, then increment: what a
    per-replica cache of the spend amounts to) admits more than the budget allows."""
    import redis

    r = redis.Redis.from_url(redis_server.url)
    k = f"{ns}:naive"
    budget, amount = 0.05, 0.0007

    def reserve(a: float) -> bool:
        used = int(r.get(k) or 0)
        time.sleep(0.0005)  # the round trip between the read and the write
        if used + to_units(a) > to_units(budget):
            return False
        r.incrby(k, to_units(a))
        return True

    n = _spend(reserve, lambda _r, _a: None, 16, 20, amount, amount)
    assert n > int(budget // amount)  # overshoot: the atomic script is what prevents it


def test_unlimited_budget_and_settlement_below_the_reservation(redis_server: Redis,
                                                               ns: str) -> None:
    s = RedisBudgetStore(redis_server.url, ns)
    free = KeyRecord("free" + ns[:8], "bob", None, None)
    assert all(s.reserve(free, 10.0, DAY) for _ in range(5))
    capped = KeyRecord("cap" + ns[:9], "carol", None, 1.0)
    assert s.reserve(capped, 0.6, DAY) and not s.reserve(capped, 0.6, DAY)
    s.settle(capped.key_id, DAY, 0.6, 0.1)  # the call cost less than its worst case
    assert s.spent(capped.key_id, DAY) == (pytest.approx(0.1), 0.0)
    assert s.reserve(capped, 0.6, DAY)  # the released remainder is spendable again
    assert int(s.r.hget(f"{ns}:spend:{capped.key_id}:{DAY}", "reserved")) == 0.6 * NANO
    zero = KeyRecord("zero" + ns[:8], "dan", None, 1.0)  # a free backend: $0 reserved
    assert s.reserve(zero, 0.0, DAY)
    s.settle(zero.key_id, DAY, 0.0, 0.0)  # (Lua's -0 is not an integer for HINCRBY)
    assert s.spent(zero.key_id, DAY) == (0.0, 0.0) and s.breaker.failures == 0


def test_fail_closed_then_recover_without_a_new_store() -> None:
    """Redis gone: reservations are refused (503 state_unavailable through the gateway's
    keys service), fast after the first; a lost settlement keeps its reservation held;
    Redis back: the same store reserves again."""
    srv = new_redis()
    try:
        store = RedisBudgetStore(srv.url, "deg", timeout_s=0.3, reconnect_s=0.5)
        key = KeyRecord("deg000000001", "dave", None, 1.0)
        assert store.reserve(key, 0.25, DAY)
        srv.stop()
        with pytest.raises(StateUnavailable):
            store.reserve(key, 0.25, DAY)
        t = time.perf_counter()
        with pytest.raises(StateUnavailable, match="retrying"):
            store.reserve(key, 0.25, DAY)  # breaker open: refused at once
        assert time.perf_counter() - t < 0.05
        store.settle(key.key_id, DAY, 0.25, 0.01)  # lost: logged, counted, never raised
        assert store.settle_failures == 1 and store.refused_unavailable == 2
        svc = SharedKeys(store, store)  # what the request path calls
        with pytest.raises(GatewayError) as err:
            _run(svc.run(svc.reserve, key, 0.25, DAY))
        assert err.value.status == 503 and err.value.code == "state_unavailable"
        srv.start()  # same port; the server starts empty (no persistence)
        time.sleep(0.6)  # the breaker's reconnect period
        assert store.reserve(key, 0.25, DAY)
        svc.close()
    finally:
        srv.stop()
        remove(srv.dir)


def _run(coro: object) -> object:
    import asyncio

    return asyncio.run(coro)  # type: ignore[arg-type]
