"""The vLLM /metrics parser and the background load poller (serve/load_signal.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from serve.load_signal import LoadPoller, MetricsParseError, VllmLoad, parse_vllm_metrics

# vLLM 0.32.0's exposition (HELP/TYPE/sample lines of the three gauges copied from a real
# CPU server's /metrics; the integration test parses a live one), with other families around.
METRICS = """\
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 1234.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="gemma-3-270m"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="gemma-3-270m"} 5.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="gemma-3-270m"} 0.375
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="gemma-3-270m"} 4096.0
# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="gemma-3-270m"} 1.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="gemma-3-270m"} 3.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="gemma-3-270m"} 3.0
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="gemma-3-270m"} 1.5
"""

TWO_ENGINES = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="a"} 1.0
vllm:num_requests_running{engine="1",model_name="a"} 3.0
vllm:num_requests_running{engine="0",model_name="b"} 7.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="a"} 2.0
vllm:num_requests_waiting{engine="1",model_name="a"} 4.0
vllm:num_requests_waiting{engine="0",model_name="b"} 0.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{engine="0",model_name="a"} 0.5
vllm:gpu_cache_usage_perc{engine="1",model_name="a"} 0.9
vllm:gpu_cache_usage_perc{engine="0",model_name="b"} 0.1
"""


def test_parse_reads_the_three_gauges() -> None:
    load = parse_vllm_metrics(METRICS)
    assert load.num_requests_running == 2.0
    assert load.num_requests_waiting == 5.0
    assert load.kv_cache_usage_perc == 0.375
    assert load.model_names == ("gemma-3-270m",)


def test_parse_sums_engines_takes_max_kv_and_filters_model() -> None:
    both = parse_vllm_metrics(TWO_ENGINES)
    assert (both.num_requests_running, both.num_requests_waiting) == (11.0, 6.0)
    assert both.kv_cache_usage_perc == 0.9  # older gauge name accepted; max over engines
    only_a = parse_vllm_metrics(TWO_ENGINES, model_name="a")
    assert (only_a.num_requests_running, only_a.num_requests_waiting) == (4.0, 6.0)
    assert only_a.model_names == ("a",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "vllm:num_requests_running"),
        (METRICS.replace("vllm:kv_cache_usage_perc", "vllm:other"), "kv_cache_usage_perc"),
        ("vllm:num_requests_running{engine=0 1.0\n", "not Prometheus"),
    ],
)
def test_parse_errors_are_clear(text: str, needle: str) -> None:
    with pytest.raises(MetricsParseError, match=needle):
        parse_vllm_metrics(text)


def test_parse_unknown_model_names_the_model() -> None:
    with pytest.raises(MetricsParseError, match="model_name='nope'"):
        parse_vllm_metrics(METRICS, model_name="nope")


def test_parse_rejects_negative_gauges() -> None:
    bad = METRICS.replace('model_name="gemma-3-270m"} 5.0', 'model_name="gemma-3-270m"} -1.0')
    with pytest.raises(MetricsParseError, match="negative"):
        parse_vllm_metrics(bad)


def test_saturated_and_penalty() -> None:
    idle = VllmLoad(num_requests_waiting=0, kv_cache_usage_perc=0.1, num_requests_running=1)
    queued = VllmLoad(num_requests_waiting=12, kv_cache_usage_perc=0.2, num_requests_running=4)
    full = VllmLoad(num_requests_waiting=0, kv_cache_usage_perc=0.99, num_requests_running=8)
    assert not idle.saturated() and queued.saturated() and full.saturated()
    assert idle.penalty() == pytest.approx(0.1)
    assert queued.penalty(max_waiting=8) == 1.0
    assert VllmLoad(4, 0.0, 0).penalty(max_waiting=8) == pytest.approx(0.5)


def _poller(handler: object, **kw: float) -> LoadPoller:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return LoadPoller("http://vllm.test/metrics", transport=transport, **kw)  # type: ignore[arg-type]


def test_poller_reads_then_goes_stale_and_counts_errors() -> None:
    state = {"ok": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["ok"]:
            return httpx.Response(200, text=METRICS)
        return httpx.Response(503, text="down")

    async def scenario() -> None:
        poller = _poller(handler, interval_s=0.01, stale_after_s=0.2)
        await poller.start()
        try:
            await asyncio.sleep(0.05)
            load = poller.latest
            assert load is not None and load.num_requests_waiting == 5.0
            state["ok"] = False
            await asyncio.sleep(0.35)
            assert poller.latest is None  # stale: never a frozen "idle" reading
            assert poller.n_errors >= 1 and "503" in (poller.last_error or "")
        finally:
            await poller.stop()
        assert poller._task is None

    asyncio.run(scenario())


def test_poller_survives_garbage_and_rejects_bad_settings() -> None:
    async def scenario() -> None:
        poller = _poller(lambda r: httpx.Response(200, text="hello"))
        await poller.start()
        try:
            assert await poller.poll_once() is None
            assert "MetricsParseError" in (poller.last_error or "")
        finally:
            await poller.stop()

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="stale_after_s"):
        LoadPoller("http://x/metrics", interval_s=1.0, stale_after_s=0.5)
