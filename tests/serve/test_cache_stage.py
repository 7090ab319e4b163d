"""The cache stage in the gateway: a hit answers with no backend call (plain and streamed,
through the official openai client), streams are stored only when they complete, bypass,
tenants, headers, log rows and /metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from data.io import read_frame
from data.schema import learnable_policy
from tests.serve.fakes import HTTP, FakeControl

STAGE = "serve.stages.cache.CacheStage"
Q = [{"role": "user", "content": "What is the capital of France?"}]


def cache_plugin(**stage: Any) -> dict[str, Any]:
    return {"enabled": True, "before": "pre-checks",
            "stage": {"_target_": STAGE, "semantic": False, **stage}}


def client(url: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0,
                         default_headers=headers or None)


def chat(url: str, messages: list[dict[str, Any]] = Q, **kw: Any) -> Any:
    r = client(url, **kw.pop("headers", {})).chat.completions.with_raw_response.create(
        model="lmroute/auto", messages=messages, **kw)  # type: ignore[arg-type]
    return r


def stream_events(url: str, body: dict[str, Any], headers: dict[str, str] | None = None
                  ) -> tuple[dict[str, str], list[Any]]:
    events: list[Any] = []
    with HTTP.stream("POST", f"{url}/v1/chat/completions", json=body,
                     headers=headers or {}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                events.append(data if data == "[DONE]" else json.loads(data))
        return dict(r.headers), events


def text(events: list[Any]) -> str:
    return "".join((e["choices"][0]["delta"].get("content") or "") for e in events
                   if isinstance(e, dict) and e.get("choices"))


def rows(log_dir: Path, n: int) -> Any:
    for _ in range(100):
        try:
            df = read_frame(log_dir / "requests")
            if len(df) >= n:
                return df
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("log rows missing")


def test_second_request_is_a_hit_with_no_backend_call(gateway, control: FakeControl,
                                                      tmp_path: Path) -> None:
    url = gateway(cache=cache_plugin())
    first = chat(url)
    assert first.headers["x-lmroute-cache"] == "miss"
    calls = len(control.calls)
    second = chat(url)
    assert second.headers["x-lmroute-cache"] == "hit"
    assert second.headers["x-lmroute-cache-tier"] == "exact"
    assert len(control.calls) == calls  # no backend call
    a, b = first.parse(), second.parse()
    assert b.choices[0].message.content == a.choices[0].message.content
    assert b.usage.completion_tokens == a.usage.completion_tokens
    df = rows(tmp_path / "logs", 2).sort_values("timestamp")
    hit = df.iloc[-1]
    assert hit["logging_policy"] == "local/cache" and hit["cost_usd"] == 0.0
    meta = json.loads(hit["meta"])["local"]
    assert meta["marker"] == "cache" and meta["saved_cost_usd"] > 0
    assert meta["cache"]["tier"] == "exact"
    miss = json.loads(df.iloc[0]["meta"])
    assert miss["stages"]["cache"]["outcome"] == "miss"
    assert miss["stages"]["cache"]["stored"] is True
    assert not learnable_policy(hit["logging_policy"])


@pytest.mark.parametrize("include_usage", [True, False])
def test_streamed_answer_is_stored_and_replayed_as_sse(gateway, control: FakeControl,
                                                       include_usage: bool) -> None:
    url = gateway(cache=cache_plugin())
    body = {"model": "lmroute/auto", "messages": Q, "stream": True,
            "stream_options": {"include_usage": include_usage}}
    h1, e1 = stream_events(url, body)
    assert h1["x-lmroute-cache"] == "miss"
    calls = len(control.calls)
    h2, e2 = stream_events(url, body)
    assert h2["x-lmroute-cache"] == "hit" and len(control.calls) == calls
    assert text(e2) == text(e1) != "" and e2[-1] == "[DONE]"
    usage = [e for e in e2 if isinstance(e, dict) and e.get("usage")]
    assert len(usage) == (1 if include_usage else 0)
    if include_usage:
        assert usage[0]["choices"] == [] and usage[0]["usage"]["completion_tokens"] > 0
    assert any(isinstance(e, dict) and e["choices"] and e["choices"][0]["finish_reason"]
               == "stop" for e in e2)
    # the openai client reads the replayed stream too
    s = client(url).chat.completions.create(model="lmroute/auto", messages=Q, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in s if c.choices) == text(e1)
    assert len(control.calls) == calls


def test_plain_answer_replays_streamed(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    a = chat(url).parse().choices[0].message.content
    calls = len(control.calls)
    h, ev = stream_events(url, {"model": "lmroute/auto", "messages": Q, "stream": True})
    assert h["x-lmroute-cache"] == "hit" and text(ev) == a and len(control.calls) == calls


def test_a_cut_stream_is_never_stored(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    control.models["up-strong"].fault = "cut"
    body = {"model": "m-strong", "messages": Q, "stream": True}
    stream_events(url, body)
    control.models["up-strong"].fault = None
    h, _ = stream_events(url, body)
    assert h["x-lmroute-cache"] == "miss"  # the cut answer was not stored
    h, _ = stream_events(url, body)
    assert h["x-lmroute-cache"] == "hit"  # the complete one was
    m = HTTP.get(f"{url}/metrics").text
    assert 'lmroute_cache_stores_total{outcome="refused"} 1.0' in m
    assert 'lmroute_cache_stores_total{outcome="stored"} 1.0' in m


def test_bypass_by_header_and_by_body_flag(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    chat(url)
    calls = len(control.calls)
    r = chat(url, headers={"x-lmroute-cache": "bypass"})
    assert r.headers["x-lmroute-cache"] == "bypass" and len(control.calls) == calls + 1
    r = chat(url, extra_body={"lmroute_cache": False})
    assert r.headers["x-lmroute-cache"] == "bypass" and len(control.calls) == calls + 2
    assert "lmroute_cache" not in control.calls[-1]  # the flag never goes upstream
    assert chat(url).headers["x-lmroute-cache"] == "hit"


def test_tenants_never_share_answers(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    chat(url, headers={"x-lmroute-tenant": "alice"})
    assert chat(url, headers={"x-lmroute-tenant": "bob"}).headers["x-lmroute-cache"] == "miss"
    assert chat(url).headers["x-lmroute-cache"] == "miss"  # no tenant header: its own
    assert chat(url, headers={"x-lmroute-tenant": "alice"}).headers["x-lmroute-cache"] == "hit"


def test_answer_changing_parameters_miss(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    chat(url)
    assert chat(url, temperature=0.3).headers["x-lmroute-cache"] == "miss"
    assert chat(url, max_tokens=2).headers["x-lmroute-cache"] == "miss"
    assert chat(url, messages=[{"role": "system", "content": "Answer in French"}, *Q]
                ).headers["x-lmroute-cache"] == "miss"
    assert chat(url, n=2).headers["x-lmroute-cache"] == "bypass"


def test_metrics_count_hits_and_misses(gateway, control: FakeControl) -> None:
    url = gateway(cache=cache_plugin())
    chat(url)
    chat(url)
    chat(url)
    m = HTTP.get(f"{url}/metrics").text
    assert 'lmroute_cache_lookups_total{outcome="hit_exact"} 2.0' in m
    assert 'lmroute_cache_lookups_total{outcome="miss"} 1.0' in m
    assert "lmroute_cache_saved_usd_total" in m and "lmroute_cache_entries 1.0" in m
    assert "lmroute_cache_false_hit_feedback_total 0.0" in m


def test_semantic_hit_with_the_real_router_features(gateway, control: FakeControl,
                                                    real_routers: tuple[Path, Path, list[str]]
                                                    ) -> None:
    router_dir = str(real_routers[0])
    url = gateway(cache=cache_plugin(semantic=True, embedder={"kind": "router",
                                                              "router_dir": router_dir},
                                     decision={"kind": "cosine", "threshold": 0.97}))
    chat(url, messages=[{"role": "user", "content": "capital city of France please"}])
    calls = len(control.calls)
    r = chat(url, messages=[{"role": "user", "content": "please capital city of France"}])
    assert r.headers["x-lmroute-cache"] == "hit"
    assert r.headers["x-lmroute-cache-tier"] == "semantic"
    assert float(r.headers["x-lmroute-cache-similarity"]) >= 0.97
    assert len(control.calls) == calls
    r = chat(url, messages=[{"role": "user", "content": "how do I bake sourdough bread"}])
    assert r.headers["x-lmroute-cache"] == "miss"


def test_demo_script_second_question_is_a_hit(gateway, control: FakeControl, tmp_path: Path,
                                              real_routers: tuple[Path, Path, list[str]]
                                              ) -> None:
    from rich.console import Console

    from scripts.demo_cache import demo

    url = gateway(cache=cache_plugin(semantic=True, embedder={
        "kind": "router", "router_dir": str(real_routers[0])},
        decision={"kind": "cosine", "threshold": 0.9}))
    demo(url, tmp_path / "out", Console(file=open(tmp_path / "console.txt", "w")))  # noqa: SIM115
    rows = json.loads((tmp_path / "out" / "cache_demo.json").read_text())
    outcomes = [r["headers"]["x-lmroute-cache"] for r in rows]
    assert outcomes[:2] == ["miss", "hit"] and outcomes[3:5] == ["hit", "hit"]
    assert rows[1]["answer"] == rows[0]["answer"] == rows[4]["answer"]
    assert rows[4]["usage"] is not None  # include_usage honoured on a replayed stream


def test_the_body_flag_is_checked_and_never_sent_upstream_with_the_cache_off(
        gateway, control: FakeControl) -> None:
    """With the cache stage off the flag used to go upstream (an OpenAI backend refuses
    unknown fields); a flag that is not a boolean was silently ignored."""
    import openai

    url = gateway()  # no cache stage
    r = chat(url, extra_body={"lmroute_cache": False})
    assert r.status_code == 200 and "lmroute_cache" not in control.calls[-1]
    with pytest.raises(openai.BadRequestError) as info:
        chat(url, extra_body={"lmroute_cache": "no"})
    assert "'lmroute_cache': expected a boolean" in str(info.value)
