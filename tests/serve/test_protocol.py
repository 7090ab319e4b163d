"""Protocol compatibility with the official ``openai`` client, streaming and not,
against the gateway served by uvicorn on a free localhost port."""

from __future__ import annotations

import openai
import pytest

from tests.serve.fakes import HTTP, FakeControl


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("http_client", ["fast", "aiohttp"])
def test_non_streaming_routed(gateway, control: FakeControl, http_client: str) -> None:
    url = gateway(backend_overrides={"b-strong": {"http_client": http_client}})
    raw = client(url).chat.completions.with_raw_response.create(
        model="lmroute/auto", messages=[{"role": "user", "content": "hello there"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "w0 w1 w2 w3 w4"
    assert completion.usage is not None and completion.usage.completion_tokens == 5
    assert completion.id == raw.headers["x-request-id"]  # feedback can quote completion.id
    # w_cost = 0: the stub router's best quality model, served by b-strong
    assert raw.headers["x-lmroute-model"] == "m-strong"
    assert raw.headers["x-lmroute-backend"] == "b-strong"
    assert float(raw.headers["x-lmroute-propensity"]) == 1.0
    assert float(raw.headers["x-lmroute-decision-us"]) > 0
    assert raw.headers["x-lmroute-reason"] == "argmax utility"
    assert control.calls[-1]["model"] == "up-strong"  # upstream name substituted
    want = "lmroute-gateway" if http_client == "fast" else "aiohttp"  # aiohttp names itself
    assert want in (control.agents[-1] or "")


@pytest.mark.parametrize(("profile", "model"), [("lmroute/cheap", "m-cheap"),
                                                ("lmroute/balanced", "m-mid"),
                                                ("lmroute/quality", "m-strong")])
def test_profiles_route_by_their_weights(gateway, profile: str, model: str) -> None:
    raw = client(gateway()).chat.completions.with_raw_response.create(
        model=profile, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-lmroute-model"] == model


def test_streaming_with_usage(gateway, control: FakeControl) -> None:
    stream = client(gateway()).chat.completions.create(
        model="lmroute/auto", messages=[{"role": "user", "content": "count"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "w0 w1 w2 w3 w4"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert control.calls[-1]["stream_options"] == {"include_usage": True}


def test_streaming_without_usage_drops_usage_chunk(gateway, control: FakeControl) -> None:
    stream = client(gateway()).chat.completions.create(
        model="m-mid", messages=[{"role": "user", "content": "count"}], stream=True)
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    # but the gateway still asked upstream for usage, to log real token counts
    assert control.calls[-1]["stream_options"] == {"include_usage": True}


def test_streaming_headers(gateway) -> None:
    url = gateway()
    with HTTP.stream("POST", f"{url}/v1/chat/completions",
                      json={"model": "lmroute/cheap", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as r:
        body = r.read().decode()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-lmroute-model"] == "m-cheap"
    assert r.headers["x-lmroute-backend"] == "b-cheap"
    assert body.rstrip().endswith("data: [DONE]")


def test_models_endpoint(gateway) -> None:
    ids = [m.id for m in client(gateway()).models.list()]
    assert ids[:4] == ["lmroute/auto", "lmroute/cheap", "lmroute/balanced", "lmroute/quality"]
    assert {"m-cheap", "m-mid", "m-strong", "edge-local"} <= set(ids)


def test_concrete_model_bypasses_router(gateway, control: FakeControl) -> None:
    raw = client(gateway()).chat.completions.with_raw_response.create(
        model="m-cheap", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-lmroute-reason"] == "explicit model"
    assert raw.headers["x-lmroute-backend"] == "b-cheap"
    assert control.calls[-1]["model"] == "up-cheap"


def test_health_and_metrics(gateway) -> None:
    url = gateway()
    client(url).chat.completions.create(model="lmroute/auto",
                                        messages=[{"role": "user", "content": "hi"}])
    assert HTTP.get(f"{url}/health/live").status_code == 200
    ready = HTTP.get(f"{url}/health/ready")
    assert ready.status_code == 200 and ready.json()["backends"]["b-strong"]["available"]
    text = HTTP.get(f"{url}/metrics").text
    assert 'lmroute_requests_total{backend="b-strong",model="m-strong",status="200"} 1.0' in text
    assert 'lmroute_tokens_total{kind="completion",model="m-strong"} 5.0' in text
    assert "lmroute_decision_seconds_count" in text
    assert 'lmroute_cost_usd_total{model="m-strong"}' in text
    assert 'lmroute_energy_joules_total{model="m-strong"}' in text
