"""Request ids, the fallback's "auto", load-ordered backends, bounded metric labels and a
log sink that finishes its write at shutdown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from data.io import read_frame
from data.schema import SCHEMA
from serve.backends.pool import MAX_OFFSET_MS, BackendPool
from serve.load_signal import VllmLoad
from serve.logsink import LogSink
from serve.request_ids import RequestIds
from serve.settings import LogSettings, settings_from_dict
from tests.serve.conftest import COST, QUALITY, backend
from tests.serve.fakes import HTTP, StubRouter

AUTO = {"lmroute/auto": {"w_cost": 0.0}}


def test_request_ids_are_recognised() -> None:
    ids = RequestIds()
    a, b = ids.new(), ids.new()
    assert a != b and a.startswith("chatcmpl-") and len(ids.prefix) == 16
    assert ids.issued_here(a) is True and ids.issued_here(b) is True
    assert ids.issued_here(f"chatcmpl-{ids.prefix}{2:08x}") is False  # not issued yet
    assert ids.issued_here(f"chatcmpl-{ids.prefix}{2**40:x}") is False  # long counter
    assert ids.issued_here(f"chatcmpl-{'f' * 16}00000000") is None  # another process
    for bad in ("", "chatcmpl-", "chatcmpl-XYZ", a + " ", "req-1"):
        assert ids.issued_here(bad) is False


def test_fallback_auto_is_the_first_edge_backend_or_none() -> None:
    url = "http://127.0.0.1:9/v1"
    s = settings_from_dict({"backends": {"cloud": backend(url, "c", ["c"]),
                                         "e1": backend(url, "e", ["e"], edge=True)},
                            "fallback_backend": "auto", "profiles": AUTO})
    assert s.fallback_backend == "e1"
    s = settings_from_dict({"backends": {"cloud": backend(url, "c", ["c"])},
                            "fallback_backend": "auto", "profiles": AUTO})
    assert s.fallback_backend is None


class _Poller:
    def __init__(self, load: VllmLoad | None) -> None:
        self.latest = load


def test_backends_of_a_model_are_tried_least_loaded_first(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/v1"
    cfg = {"vllm_metrics": True, "ttft_ms": 100.0, "load_max_waiting": 8.0}
    s = settings_from_dict({"backends": {"a": backend(url, "m", ["m"], **cfg),
                                         "b": backend(url, "m", ["m"], **cfg)},
                            "profiles": AUTO})

    async def make() -> BackendPool:  # the pool's HTTP client needs an event loop
        return BackendPool(s.backends, tmp_path, 0)

    pool = asyncio.run(make())
    a, b = pool.backends["a"], pool.backends["b"]
    pool.load_pollers = {"a": _Poller(VllmLoad(4.0, 0.1, 1.0)), "b": _Poller(None)}
    assert pool.load_offset_ms(a) == pytest.approx(0.5 * 8 * 100)
    assert pool.by_load([a, b]) == [b, a]  # b has no reading: offset 0, tried first
    assert pool.latency_offsets(["m"]) is None  # the model's best backend is unloaded
    pool.load_pollers["b"] = _Poller(VllmLoad(8.0, 0.0, 1.0))
    assert pool.by_load([a, b]) == [a, b] and pool.latency_offsets(["m"]) == [400.0]
    a.settings.ttft_ms = float("inf")  # not reachable through validate(), but never NaN
    assert pool.load_offset_ms(a) == 0.0 and MAX_OFFSET_MS > 0


def test_unknown_model_names_share_one_metric_label(gateway) -> None:
    url = gateway()
    for name in ("typo-1", "typo-2"):
        r = HTTP.post(f"{url}/v1/chat/completions",
                      json={"model": name, "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 404
    text = HTTP.get(f"{url}/metrics").text
    assert 'model="unknown"' in text and "typo-1" not in text


def test_log_sink_close_waits_for_the_write_in_progress(tmp_path: Path) -> None:
    """Shutdown during a slow write: the write completes (not cancelled), nothing lost."""
    settings = LogSettings(dir=str(tmp_path), flush_rows=1, flush_interval_s=0.05)

    async def go() -> LogSink:
        sink = LogSink(settings, tmp_path / "requests", SCHEMA)
        slow = sink._write

        def write(rows: list[dict[str, Any]]) -> None:
            time.sleep(0.5)
            slow(rows)

        sink._write = write  # type: ignore[method-assign]
        await sink.start()
        sink.append(_row("r1"))
        await asyncio.sleep(0.1)  # the flusher is now inside the slow write
        sink.append(_row("r2"))
        await sink.close()
        return sink

    sink = asyncio.run(go())
    assert sink.rows_written == 2
    assert sorted(read_frame(tmp_path / "requests")["request_id"]) == ["r1", "r2"]


def _row(rid: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {"request_id": rid, "timestamp": datetime.now(UTC), "query": "q", "model": "m",
            "cost_usd": 0.0, "latency_ms": 1.0, "energy_j": 0.0, "prompt_tokens": 1,
            "completion_tokens": 1, "propensity": 1.0, "logging_policy": "p",
            "source": "gateway", "latency_source": "measured", "energy_source": "profile"}


class _RogueRouter(StubRouter):
    """Returns a model outside the allowed set (what the finite NEG_INF mask allowed with
    huge weights before they were capped)."""

    def route(self, *args: Any, **kw: Any) -> Any:
        d = super().route(*args, **kw)
        d.model = "m-strong"
        return d


def test_a_decision_outside_the_rules_is_never_served(gateway, control) -> None:
    url = gateway(router=_RogueRouter(QUALITY, COST))
    r = HTTP.post(f"{url}/v1/chat/completions", headers={"x-lmroute-sensitive": "true"},
                  json={"model": "lmroute/auto", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 500 and r.json()["error"]["code"] == "router_error"
    assert control.count("up-strong") == 0
