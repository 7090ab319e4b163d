"""Pieces of the shared stores that need no server: nano-dollar units, the breaker that
makes a down store fail fast and recover, the replica tag of the decision log, and the
cache store's fail-open / fail-closed rule."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from serve.errors import GatewayError
from serve.logsink import FEEDBACK_SCHEMA, LogSink
from serve.settings import LogSettings
from serve.state.base import StateUnavailable
from serve.state.connection import Breaker
from serve.state.redis_budgets import to_units


def test_nano_dollar_units() -> None:
    assert to_units(0.01) == 10_000_000 and to_units(0.01, up=True) == 10_000_000
    assert to_units(1.5e-9, up=True) == 2 and to_units(2.4e-9) == 2
    assert sum(to_units(0.01) for _ in range(50)) == to_units(0.5)  # exact sums
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="amount"):
            to_units(bad)


def test_breaker_fails_fast_while_down_then_recovers() -> None:
    b = Breaker("a store", 0.2, (ConnectionError,))
    calls = []

    def down() -> None:
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(StateUnavailable, match="a store is unreachable"):
        b.call(down)
    t = time.perf_counter()
    with pytest.raises(StateUnavailable, match="retrying"):
        b.call(down)
    assert len(calls) == 1 and time.perf_counter() - t < 0.01  # not tried again
    time.sleep(0.25)
    assert b.call(lambda: 7) == 7 and not b.down
    assert b.describe()["failures"] == 1 and b.describe()["fast_failures"] == 1


def _rows(d: Path) -> list[dict]:
    return [r for f in sorted(d.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.mark.parametrize("replica", ["", "r2"])
def test_log_rows_and_files_name_their_replica(tmp_path: Path, replica: str) -> None:
    async def go() -> None:
        sink = LogSink(LogSettings(flush_interval_s=60), tmp_path, FEEDBACK_SCHEMA,
                       replica=replica)
        await sink.start()
        now = pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py()
        for i, meta in enumerate([None, "{}", '{"a": 1}', '{ "b": [1, 2]}']):
            sink.append({"request_id": f"r{i}", "timestamp": now, "quality": 0.5,
                         "meta": meta})
        await sink.close()

    asyncio.run(go())
    rows = _rows(tmp_path)
    (name,) = [f.name for f in tmp_path.glob("*.parquet")]
    if not replica:  # the single-process default: rows and names exactly as before
        assert [r["meta"] for r in rows] == [None, "{}", '{"a": 1}', '{ "b": [1, 2]}']
        assert name.split("-")[2].isdigit()  # part-<utc>-<pid>-...
        return
    metas = [json.loads(r["meta"]) for r in rows]
    assert metas == [{"replica": "r2"}, {"replica": "r2"}, {"replica": "r2", "a": 1},
                     {"replica": "r2", "b": [1, 2]}]
    assert name.split("-")[2] == "r2"


class _DownStore:
    """An entry store whose server is gone (what RedisStore raises then)."""

    kind = "redis"

    def __init__(self) -> None:
        from serve.cache.store.base import StoreLimits

        self.limits = StoreLimits()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        import redis

        def fail(*a: object, **k: object) -> None:
            raise redis.ConnectionError("Connection refused")

        return fail


def test_cache_store_fails_open_or_closed_but_never_skips_an_erasure() -> None:
    from serve.cache.store.guarded import GuardedStore

    opened = GuardedStore(_DownStore(), "open")  # type: ignore[arg-type]
    assert opened.get_exact("k", 0.0) is None and opened.put(object(), 0.0) == []  # type: ignore[arg-type]
    assert opened.changes() == [] and opened.skipped == 3 and opened.kind == "redis"
    with pytest.raises(StateUnavailable):
        opened.select(session="s1")  # an erasure's purge must fail loudly
    with pytest.raises(StateUnavailable):
        opened.remove([1])
    closed = GuardedStore(_DownStore(), "closed")  # type: ignore[arg-type]
    with pytest.raises(GatewayError) as err:
        closed.get_exact("k", 0.0)
    assert err.value.status == 503 and err.value.code == "state_unavailable"
    with pytest.raises(ValueError, match="on_unavailable"):
        GuardedStore(_DownStore(), "maybe")  # type: ignore[arg-type]
