"""vLLM load in routing: a backend whose /metrics says it is saturated is masked out of
the decision like a cooling-down one; a loaded one adds to its model's expected latency
(a soft signal); a stale or missing reading masks and adds nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from data.io import read_frame
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


def _wait_waiting(url: str, waiting: float, timeout_s: float = 10.0) -> dict[str, Any]:
    """Poll /health/ready until b-strong's fresh reading has ``waiting`` queued requests."""
    deadline = time.monotonic() + timeout_s
    while True:
        load = HTTP.get(f"{url}/health/ready").json()["backends"]["b-strong"]["load"]
        if load["waiting"] == waiting:
            return dict(load)
        assert time.monotonic() < deadline, f"waiting never became {waiting}: {load}"
        time.sleep(0.05)


def test_loaded_vllm_backend_adds_expected_latency(fake_backend, control, fake_metrics,
                                                   tmp_path) -> None:
    """Queue at half of load_max_waiting (not saturated): penalty 0.5, so m-strong's
    expected latency grows by 0.5 * 8 * 100 ms = 400 ms; at w_latency = 1e-3 per ms its
    utility drops 0.9 -> 0.5, below m-mid's 0.7. A profile without w_latency keeps it."""
    state, murl = fake_metrics
    state["kv"] = 0.0
    raw = base_settings(fake_backend[1], tmp_path / "logs")
    raw["backends"]["b-strong"].update(vllm_metrics=True, metrics_url=murl, load_poll_s=0.05,
                                       load_stale_s=0.6, load_max_waiting=8.0, ttft_ms=100.0)
    raw["profiles"]["lmroute/fast"] = {"w_latency": 1e-3, "epsilon": 0.0}
    router = StubRouter(QUALITY, COST)
    app = create_app(settings_from_dict(raw), router_obj=router)
    with ThreadServer(app) as srv:
        _wait_waiting(srv.url, 0.0)
        assert _ask(srv.url, "lmroute/fast").headers["x-lmroute-model"] == "m-strong"
        assert router.calls[-1]["latency_offset_ms"] is None  # idle: the fast path

        state["waiting"] = 4.0
        load = _wait_waiting(srv.url, 4.0)
        assert not load["saturated"] and load["latency_offset_ms"] == pytest.approx(400.0)
        fast = _ask(srv.url, "lmroute/fast")
        assert fast.status_code == 200 and fast.headers["x-lmroute-model"] == "m-mid"
        assert fast.headers["x-lmroute-reason"] == "argmax utility (load-adjusted)"
        offsets = dict(zip(router.models, router.calls[-1]["latency_offset_ms"], strict=True))
        assert offsets == pytest.approx({"m-cheap": 0.0, "m-mid": 0.0, "m-strong": 400.0})
        assert "m-strong" in router.calls[-1]["allowed"]  # soft: not masked
        auto = _ask(srv.url)  # w_latency = 0: the load does not change the choice
        assert auto.headers["x-lmroute-model"] == "m-strong"

        state["status"] = 500  # stale reading: no offset at all
        _wait_load(srv.url, saturated=None)
        assert app.state.gateway.pool.latency_offsets(router.models) is None
        assert _ask(srv.url, "lmroute/fast").headers["x-lmroute-model"] == "m-strong"
    rows = read_frame(tmp_path / "logs" / "requests")
    meta = {r["request_id"]: json.loads(r["meta"]) for _, r in rows.iterrows()}
    got = [(m["profile"], m["routed_model"], m.get("load_offset_ms")) for m in meta.values()]
    assert sorted(got, key=str) == sorted([
        ("lmroute/fast", "m-strong", None), ("lmroute/fast", "m-mid", None),
        ("lmroute/auto", "m-strong", 400.0), ("lmroute/fast", "m-strong", None)], key=str)


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
