"""vLLM load in routing: a backend whose /metrics says it is saturated is masked out of
the decision like a cooling-down one; a stale or missing reading masks nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from serve.app import create_app
from serve.settings import BackendSettings, metrics_url, settings_from_dict
from tests.serve.conftest import COST, QUALITY, base_settings
from tests.serve.fakes import HTTP, StubRouter, ThreadServer

CHAT = "/v1/chat/completions"


def _metrics_text(waiting: float, kv: float) -> str:
    lab = '{engine="0",model_name="up-strong"}'
    return (f"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{lab} 1.0\n"
            f"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{lab} {waiting}\n"
            f"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{lab} {kv}\n")


@pytest.fixture
def fake_metrics() -> Iterator[tuple[dict[str, Any], str]]:
    """A fake vLLM /metrics endpoint; the dict sets waiting, kv and the HTTP status."""
    state: dict[str, Any] = {"waiting": 0.0, "kv": 0.1, "status": 200}
    app = FastAPI()

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(_metrics_text(state["waiting"], state["kv"]),
                                 status_code=state["status"])

    with ThreadServer(app) as srv:
        yield state, f"{srv.url}/metrics"


def _ask(url: str, model: str = "lmroute/auto") -> Any:
    return HTTP.post(f"{url}{CHAT}", json={"model": model,
                                            "messages": [{"role": "user", "content": "hi"}]})


def _wait_load(url: str, saturated: bool | None, timeout_s: float = 10.0) -> dict[str, Any]:
    """Poll /health/ready until b-strong's load reading says ``saturated`` (None: no
    fresh reading)."""
    deadline = time.monotonic() + timeout_s
    while True:
        load = HTTP.get(f"{url}/health/ready").json()["backends"]["b-strong"]["load"]
        fresh = load["waiting"] is not None
        if (saturated is None and not fresh) or (fresh and load["saturated"] is saturated):
            return dict(load)
        assert time.monotonic() < deadline, f"load never became {saturated}: {load}"
        time.sleep(0.05)


def test_saturated_vllm_backend_is_masked_then_back(fake_backend, control, fake_metrics,
                                                    tmp_path) -> None:
    state, murl = fake_metrics
    raw = base_settings(fake_backend[1], tmp_path / "logs")
    raw["backends"]["b-strong"].update(vllm_metrics=True, metrics_url=murl, load_poll_s=0.05,
                                       load_stale_s=0.6, load_max_waiting=8.0)
    router = StubRouter(QUALITY, COST)
    app = create_app(settings_from_dict(raw), router_obj=router)
    with ThreadServer(app) as srv:
        _wait_load(srv.url, saturated=False)
        idle = _ask(srv.url)
        assert idle.headers["x-lmroute-model"] == "m-strong"  # best quality, w_cost = 0

        state["waiting"] = 20.0  # queue past load_max_waiting
        assert _wait_load(srv.url, saturated=True)["waiting"] == 20.0
        busy = _ask(srv.url)
        assert busy.status_code == 200 and busy.headers["x-lmroute-model"] == "m-mid"
        assert "m-strong" not in router.calls[-1]["allowed"]
        explicit = _ask(srv.url, "m-strong")  # like a cooldown: nothing can serve it now
        assert explicit.status_code == 503 and explicit.json()["error"]["code"] == "no_backend"

        state["waiting"], state["kv"] = 0.0, 0.99  # KV cache past load_max_kv_usage
        _wait_load(srv.url, saturated=True)
        assert _ask(srv.url).headers["x-lmroute-model"] == "m-mid"

        state["status"] = 500  # the server stops answering: the reading goes stale
        _wait_load(srv.url, saturated=None)
        assert _ask(srv.url).headers["x-lmroute-model"] == "m-strong"  # masks nothing
        assert app.state.gateway.pool.load_pollers["b-strong"].n_errors > 0
    assert control.count("up-strong") == 2 and control.count("up-mid") == 2


def test_metrics_url_default_and_validation(fake_backend, tmp_path) -> None:
    b = BackendSettings(base_url="http://h:8000/v1", model="x", vllm_metrics=True)
    assert metrics_url(b) == "http://h:8000/metrics"
    b.metrics_url = "http://other:9/m"
    assert metrics_url(b) == "http://other:9/m"
    raw = base_settings(fake_backend[1], tmp_path / "logs")
    raw["backends"]["b-mid"].update(vllm_metrics=True, load_poll_s=1.0, load_stale_s=0.5)
    with pytest.raises(ValueError, match=r"backends.b-mid: load_poll_s > 0"):
        settings_from_dict(raw)
    raw["backends"]["b-mid"].update(load_stale_s=5.0, load_max_kv_usage=1.5)
    with pytest.raises(ValueError, match="load_max_kv_usage"):
        settings_from_dict(raw)
