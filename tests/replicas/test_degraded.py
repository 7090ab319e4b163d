"""A replica whose Redis or PostgreSQL goes away degrades as docs/scale.md states, and
recovers without a restart (one real ``lmroute serve`` on private servers):

- Redis down: a budgeted request is refused with 503 ``state_unavailable`` (fail closed);
  a request without a budget is still served (the cache and the rate limit fail open: a
  miss, an unchecked request; health falls back to this replica: a cooldown it starts
  alone is honoured by itself); /health/ready lists the stores it cannot reach.
- PostgreSQL down: a key this replica authenticated recently keeps working; a key it has
  not seen is refused with 503 (never let through unchecked); a request with a memory
  session (the memory is in PostgreSQL) is refused with 503 and Retry-After.
- Both back: budgeted requests, new keys and memory sessions are served again by the same
  process.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serve.bench.procs import ManagedProcess
from serve.net import free_port
from serve.state.pg_keys import PostgresKeyStore
from tests.replicas.fleet import THROTTLED, Fleet, FleetConfig, chat
from tests.replicas.services import SERVERS, new_postgres, new_redis, remove

pytestmark = SERVERS


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, object, object]]:
    from data.synthetic import make_synthetic
    from tests.artifacts import train_tiny_router

    work = tmp_path_factory.mktemp("degraded")
    router, _ = train_tiny_router(work / "r", make_synthetic(150, models=3, seed=0), epochs=2)
    redis, pg = new_redis(), new_postgres()
    port = free_port()
    backend = ManagedProcess("fake-backend", [sys.executable, "-m", "serve.bench.fast_backend",
                                              "--port", str(port)],
                             f"http://127.0.0.1:{port}/health", work / "backend.log")
    backend.start(30)
    cfg = FleetConfig(redis.url, pg.dsn, "d" + uuid.uuid4().hex[:8], router,
                      ["synth-0", "synth-1", "synth-2"], work, f"http://127.0.0.1:{port}/v1")
    fl = Fleet(cfg)
    try:
        fl.start(["r1"])
        yield fl, redis, pg
    finally:
        fl.stop()
        backend.stop()
        for srv in (redis, pg):
            srv.stop()
            remove(srv.dir)


def _wait(cond, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    while not cond():
        assert time.perf_counter() - t < timeout_s, "not reached in time"
        time.sleep(0.1)


def test_redis_down_fails_budgets_closed_and_recovers(lone) -> None:  # type: ignore[no-untyped-def]
    fl, redis, _pg = lone
    r = fl.replicas["r1"]
    store = PostgresKeyStore(fl.cfg.pg_dsn, fl.cfg.namespace)
    budgeted, free = store.create_key("b", None, 10.0), store.create_key("f")
    with httpx.Client(timeout=30) as c:
        assert chat(c, r, budgeted).status_code == 200
        redis.stop()
        resp = chat(c, r, budgeted)
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "state_unavailable"
        assert "retry-after" in resp.headers
        ok = chat(c, r, free)  # no budget to check: served; the cache (Redis) fails open
        assert ok.status_code == 200 and ok.headers["x-lmroute-cache"] == "miss", ok.text
        assert [chat(c, r, free, model="m-dead").status_code for _ in range(2)] == [502, 502]
        assert chat(c, r, free, model="m-dead").status_code == 503  # cooled down, alone
        throttled = store.create_key(THROTTLED)
        assert chat(c, r, throttled).status_code == 200  # rate limit unchecked: fails open
        ready = c.get(f"{r.url}/health/ready").json()
        assert {"budgets", "rate-limit"} <= set(ready["degraded"]), ready
        redis.start()
        _wait(lambda: chat(c, r, budgeted).status_code == 200)
        assert chat(c, r, throttled).status_code == 200  # checked again (a full bucket)
        _wait(lambda: not {"budgets", "rate-limit"} & set(
            c.get(f"{r.url}/health/ready").json()["degraded"]))


def test_postgres_down_serves_cached_keys_only_and_recovers(lone) -> None:  # type: ignore[no-untyped-def]
    fl, _redis, pg = lone
    r = fl.replicas["r1"]
    store = PostgresKeyStore(fl.cfg.pg_dsn, fl.cfg.namespace)
    seen, unseen = store.create_key("seen"), store.create_key("unseen")
    store.close()
    sess = {"x-lmroute-session": "s-down"}
    with httpx.Client(timeout=30) as c:
        assert chat(c, r, seen).status_code == 200
        assert chat(c, r, seen, content="remember: blue", headers=sess).status_code == 200
        pg.stop()
        assert chat(c, r, seen).status_code == 200  # cached less than cache_ttl_s ago
        mem = chat(c, r, seen, content="what colour?", headers=sess)  # memory: PostgreSQL
        assert mem.status_code == 503 and mem.json()["error"]["code"] == "state_unavailable"
        assert mem.headers.get("retry-after") == "1", mem.headers
        resp = chat(c, r, unseen)
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "state_unavailable"
        assert chat(c, r, "lmr-0123456789ab.not-a-real-key").status_code == 503
        pg.start()
        _wait(lambda: chat(c, r, unseen).status_code == 200)
        assert chat(c, r, "lmr-0123456789ab.not-a-real-key").status_code == 401
        _wait(lambda: chat(c, r, seen, content="and now?", headers=sess).status_code == 200)


def test_the_logs_of_a_degraded_replica_are_complete(lone) -> None:  # type: ignore[no-untyped-def]
    """Refused requests are logged like any other (their status in meta)."""
    fl, _r, _p = lone
    fl.replicas["r1"].proc.stop()
    from tests.replicas.fleet import read_rows

    rows = read_rows(Path(fl.cfg.work) / "logs")
    statuses = [row["meta"]["status"] for row in rows]
    assert statuses.count(503) >= 3 and 200 in statuses
