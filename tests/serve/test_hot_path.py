"""Hot-path choices of the gateway: the router runs inline when its request is the only one
in flight and in the worker thread otherwise; the in-flight count always returns to zero;
the Parquet writer is warmed up at startup, not during the first traffic."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from router_model.decision import Decision
from serve.app import create_app
from serve.backends.pool import BackendPool
from serve.settings import settings_from_dict
from tests.serve.conftest import COST, QUALITY, base_settings, serve_gateway
from tests.serve.fakes import HTTP, StubRouter, ThreadServer

CHAT = "/v1/chat/completions"


class ThreadRecordingRouter(StubRouter):
    """StubRouter that records the name of the thread each decision ran on."""

    def __init__(self) -> None:
        super().__init__(QUALITY, COST)
        self.threads: list[str] = []

    def route(self, *args: Any, **kw: Any) -> Decision:
        self.threads.append(threading.current_thread().name)
        return super().route(*args, **kw)


def _ask(url: str, content: str = "hello") -> Any:
    return HTTP.post(f"{url}{CHAT}", json={"model": "lmroute/auto",
                                            "messages": [{"role": "user", "content": content}]})


def test_alone_inline_concurrent_in_thread(fake_backend, control, tmp_path) -> None:
    router = ThreadRecordingRouter()
    settings = settings_from_dict(base_settings(fake_backend[1], tmp_path / "logs"))
    app = create_app(settings, router_obj=router)
    with ThreadServer(app) as srv:
        assert _ask(srv.url).status_code == 200  # alone: no thread hop
        assert not router.threads[0].startswith("route")
        control.models["up-strong"].delay_s = 0.3  # keep one request in flight ...
        with ThreadPoolExecutor(2) as ex:
            first = ex.submit(_ask, srv.url, "slow one")
            deadline = time.monotonic() + 10.0
            while len(control.calls) < 2:  # ... until it has reached the backend
                assert time.monotonic() < deadline, "the first request never reached it"
                time.sleep(0.01)
            second = ex.submit(_ask, srv.url, "second")
            assert first.result().status_code == 200 and second.result().status_code == 200
        assert len(router.threads) == 3
        assert not router.threads[1].startswith("route")  # alone again: inline
        assert router.threads[2].startswith("route")  # the first one was in flight
        gw = app.state.gateway
        assert gw.in_flight == 0


def test_min_in_flight_one_always_uses_the_thread(fake_backend, control, tmp_path) -> None:
    router = ThreadRecordingRouter()
    raw = base_settings(fake_backend[1], tmp_path / "logs", route_thread_min_in_flight=1)
    with serve_gateway(settings_from_dict(raw), router) as url:
        assert _ask(url).status_code == 200
    assert router.threads[0].startswith("route")


def test_route_in_thread_false_never_uses_the_thread(fake_backend, control, tmp_path) -> None:
    router = ThreadRecordingRouter()
    raw = base_settings(fake_backend[1], tmp_path / "logs", route_in_thread=False,
                        route_thread_min_in_flight=1)
    with serve_gateway(settings_from_dict(raw), router) as url:
        assert _ask(url).status_code == 200
    assert not router.threads[0].startswith("route")


def test_in_flight_returns_to_zero_after_errors(fake_backend, control, tmp_path) -> None:
    settings = settings_from_dict(base_settings(fake_backend[1], tmp_path / "logs"))
    app = create_app(settings, router_obj=StubRouter(QUALITY, COST))
    control.models["up-strong"].fail_always = True
    control.models["up-mid"].fail_always = True
    control.models["up-cheap"].fail_always = True
    with ThreadServer(app) as srv:
        statuses = [_ask(srv.url).status_code,
                    HTTP.post(f"{srv.url}{CHAT}", content=b"{not json").status_code,
                    HTTP.post(f"{srv.url}{CHAT}", json={"model": "nope", "messages": [
                        {"role": "user", "content": "x"}]}).status_code]
        assert statuses == [502, 400, 404]
        assert app.state.gateway.in_flight == 0


def test_bad_min_in_flight_is_refused(fake_backend, tmp_path) -> None:
    raw = base_settings(fake_backend[1], tmp_path / "logs", route_thread_min_in_flight=0)
    with pytest.raises(ValueError, match="route_thread_min_in_flight"):
        settings_from_dict(raw)


def test_pool_live_models_and_context(fake_backend, tmp_path) -> None:
    settings = settings_from_dict(base_settings(fake_backend[1], tmp_path / "logs"))

    async def check() -> None:
        pool = BackendPool(settings.backends, tmp_path)
        try:
            assert pool.live_models() == {"m-cheap", "m-mid", "m-strong", "edge-local"}
            assert pool.live_models(edge_only=True) == {"m-cheap", "edge-local"}
            pool.backends["b-mid"].health.mark_unavailable("test")
            assert "m-mid" not in pool.live_models()
            assert pool.max_context("edge-local") == 512
            assert pool.max_context("m-mid") == 4096 and pool.max_context("unknown") == 0
        finally:
            await pool.close()

    asyncio.run(check())


WARM_UP_CHECK = """
import asyncio, sys
from pathlib import Path
from serve.gateway import _request_schema
from serve.logsink import LogSink
from serve.settings import LogSettings
sink = LogSink(LogSettings(flush_interval_s=60.0), Path(sys.argv[1]), _request_schema())
before = "pandas" in sys.modules
async def main():
    await sink.start()
    after = "pandas" in sys.modules
    await sink.close()
    print(before, after)
asyncio.run(main())
"""


def test_parquet_writer_is_warmed_up_at_start(tmp_path: Path) -> None:
    """In a fresh process: pandas (which the first Parquet write imports, holding the GIL
    for ~0.3-1 s) is not loaded before ``LogSink.start`` and is loaded after it."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", WARM_UP_CHECK, str(tmp_path / "requests")],
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "True"], out.stderr[-2000:]
