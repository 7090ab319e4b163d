"""The memory stage in the gateway, through the official openai client: a fact from turn
1 reaches the backend with turn 3, streamed answers are appended, the `user` field names a
session, failed answers are not appended, the budget follows the smallest backend
context, two concurrent requests lose nothing, and the HTTP endpoints (state, versions,
erase with its receipt, rollback, audit, TTL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from serve.app import create_app
from serve.settings import settings_from_dict
from serve.stages.memory_http import memory_router
from tests.serve.conftest import COST, QUALITY, base_settings
from tests.serve.fakes import HTTP, FakeControl, StubRouter, ThreadServer

UPSTREAMS = ("up-cheap", "up-mid", "up-strong", "up-edge")
SECRET = "My greyhound is called Pixel-8842 and lives in Utrecht."


def memory_plugin(db: Path, **stage: Any) -> dict[str, Any]:
    return {"enabled": True, "before": "pre-checks",
            "stage": {"_target_": "serve.stages.memory.MemoryStage", "db_path": str(db),
                      "summarizer": {"name": "stub"}, "retrieval": "bm25",
                      "ttl_sweep_s": 0.0, **stage}}


@pytest.fixture
def mem_gateway(fake_backend: tuple[FakeControl, str], control: FakeControl,
                tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A gateway with the memory stage and its endpoints; returns its base URL."""
    stack: list[Any] = []

    def make(**stage: Any) -> str:
        raw = base_settings(fake_backend[1], tmp_path / "logs",
                            memory=memory_plugin(tmp_path / "mem.sqlite", **stage))
        app = create_app(settings_from_dict(raw), router_obj=StubRouter(QUALITY, COST))
        app.include_router(memory_router)  # wired by serve/app.py (see docs/memory.md)
        cm = ThreadServer(app)
        stack.append(cm)
        return cm.__enter__().url

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def reply(control: FakeControl, text: str) -> None:
    for u in UPSTREAMS:
        control.models[u].reply = text


def ask(url: str, text: str, session: str | None = "s1", **kw: Any) -> Any:
    headers = {"x-lmroute-session": session} if session else None
    c = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0,
                      default_headers=headers)
    return c.chat.completions.with_raw_response.create(
        model="lmroute/auto", messages=[{"role": "user", "content": text}], **kw)


def sent_text(control: FakeControl) -> str:
    return json.dumps(control.calls[-1]["messages"])


def test_context_from_earlier_turns_reaches_the_backend(mem_gateway, control) -> None:
    url = mem_gateway()
    reply(control, "Noted, a lovely dog.")
    r1 = ask(url, SECRET)
    assert r1.headers["x-lmroute-memory"].startswith("version=0")  # a new session
    reply(control, "Sure.")
    ask(url, "Let us talk about the weather today.")
    r3 = ask(url, "What is my greyhound called?")
    assert "Pixel-8842" in sent_text(control)  # turn 1 came back from memory
    assert control.calls[-1]["messages"][-1] == {"role": "user",
                                                 "content": "What is my greyhound called?"}
    h = r3.headers["x-lmroute-memory"]
    assert "version=2" in h and "tokens=" in h
    state = HTTP.get(f"{url}/v1/memory/sessions/s1").json()
    assert [m["role"] for m in state["messages"]] == ["user", "assistant"] * 3
    assert state["messages"][1]["content"] == "Noted, a lovely dog."
    # no session: nothing added
    ask(url, "What is my greyhound called?", session=None)
    assert "Pixel-8842" not in sent_text(control)


def test_streamed_answers_are_appended_and_user_field(mem_gateway, control) -> None:
    url = mem_gateway()
    reply(control, "streamed answer words")
    c = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    s = c.chat.completions.create(model="lmroute/auto", user="alice-session",
                                  messages=[{"role": "user", "content": SECRET}], stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in s if ch.choices) == \
        "streamed answer words"
    # read-your-writes: the finish stage appends before [DONE] goes out (serve/streaming.py)
    state = HTTP.get(f"{url}/v1/memory/sessions/alice-session").json()
    assert [m["content"] for m in state["messages"]] == [SECRET, "streamed answer words"]


def test_a_failed_answer_is_not_appended(mem_gateway, control) -> None:
    url = mem_gateway()
    ask(url, "first turn")
    for u in UPSTREAMS:
        control.models[u].fail_always = True
    with pytest.raises(openai.APIStatusError):
        ask(url, "this one fails")
    versions = HTTP.get(f"{url}/v1/memory/sessions/s1/versions").json()
    assert len(versions) == 1 and versions[0]["n_messages"] == 2


def test_budget_follows_the_smallest_backend_context(mem_gateway, control) -> None:
    url = mem_gateway(budget_tokens=4000)
    for i in range(30):
        ask(url, f"Turn {i}: a long message about hiking and pottery and violins " * 4)
    r = ask(url, "What about hiking?", max_tokens=100)
    tokens = int(r.headers["x-lmroute-memory"].split("tokens=")[1].split(";")[0])
    assert 0 < tokens <= 512 - 100  # the edge backend's 512-token context bounds it


def test_two_concurrent_requests_lose_nothing(mem_gateway, control) -> None:
    url = mem_gateway()
    for u in UPSTREAMS:
        control.models[u].delay_s = 0.2
    threads = [threading.Thread(target=ask, args=(url, f"parallel question {i}"))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = HTTP.get(f"{url}/v1/memory/sessions/s1").json()
    users = sorted(m["content"] for m in state["messages"] if m["role"] == "user")
    assert users == ["parallel question 0", "parallel question 1"]
    versions = HTTP.get(f"{url}/v1/memory/sessions/s1/versions").json()
    assert [v["n_messages"] for v in versions if v["action"] == "append"] == [2, 4]


def test_endpoints_erase_rollback_audit_ttl(mem_gateway, control) -> None:
    url = mem_gateway()
    reply(control, "ok")
    ask(url, SECRET)
    ask(url, "second turn about the weather")
    state = HTTP.get(f"{url}/v1/memory/sessions/s1").json()
    secret_id = next(m["id"] for m in state["messages"] if "Pixel" in m["content"])
    r = HTTP.post(f"{url}/v1/memory/sessions/s1/erase",
                  json={"message_ids": [secret_id], "reason": "user request"})
    assert r.status_code == 200
    receipt = r.json()
    assert receipt["verified_clean"] and receipt["erased_ids"] == [secret_id]
    assert any("decision log" in x for x in receipt["remains"])
    assert "Pixel-8842" not in r.text
    r = HTTP.post(f"{url}/v1/memory/sessions/s1/rollback",
                  json={"version": 1, "reason": "undo"})
    assert r.status_code == 200
    assert "Pixel-8842" not in HTTP.get(f"{url}/v1/memory/sessions/s1").text
    ask(url, "What is my greyhound called?")
    assert "Pixel-8842" not in json.dumps(control.calls[-1]["messages"][:-1])
    audit = HTTP.get(f"{url}/v1/memory/sessions/s1/audit").json()
    assert audit["verification"]["ok"]
    assert "erase" in {e["action"] for e in audit["entries"]}
    r = HTTP.post(f"{url}/v1/memory/sessions/s1/ttl", json={"seconds": 60})
    assert r.status_code == 200 and r.json()["expires_at"] > 0
    assert HTTP.get(f"{url}/v1/memory/sessions").json() == ["s1"]
    r = HTTP.request("DELETE", f"{url}/v1/memory/sessions/s1", json={"reason": "bye"})
    assert r.status_code == 200 and r.json()["scope"] == "session"
    assert HTTP.get(f"{url}/v1/memory/sessions/s1").status_code == 404


@pytest.mark.parametrize("path,body,status", [
    ("/v1/memory/sessions/s1/erase", {"message_ids": "x", "reason": "r"}, 400),
    ("/v1/memory/sessions/s1/erase", {"message_ids": ["x"]}, 400),
    ("/v1/memory/sessions/s1/rollback", {"version": "3", "reason": "r"}, 400),
    ("/v1/memory/sessions/nope/rollback", {"version": 1, "reason": "r"}, 404),
    ("/v1/memory/sessions/s1/ttl", {"seconds": "soon"}, 400),
])
def test_endpoint_errors(mem_gateway, control, path: str, body: dict[str, Any],
                         status: int) -> None:
    url = mem_gateway()
    ask(url, "hello")
    r = HTTP.post(f"{url}{path}", json=body)
    assert r.status_code == status and "error" in r.json()


def test_without_the_stage_the_endpoints_are_404(fake_backend, control, tmp_path) -> None:
    raw = base_settings(fake_backend[1], tmp_path / "logs")
    app = create_app(settings_from_dict(raw), router_obj=StubRouter(QUALITY, COST))
    app.include_router(memory_router)
    with ThreadServer(app) as srv:
        r = HTTP.get(f"{srv.url}/v1/memory/sessions")
        assert r.status_code == 404 and r.json()["error"]["code"] == "memory_disabled"


def test_the_make_demo_step(mem_gateway, control, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from scripts.demo_memory import SERVE_OVERRIDES, demo

    assert SERVE_OVERRIDES[0] == "memory=sqlite"
    url = mem_gateway()
    reply(control, "Hello Ada.")
    buf = io.StringIO()
    demo(url, tmp_path / "demo", Console(file=buf, width=120))
    doc = json.loads((tmp_path / "demo" / "memory_demo.json").read_text())
    assert len(doc["turns"]) == 3 and doc["turns"][1]["stream"]
    assert doc["receipt"]["verified_clean"] and doc["pixel_after_erasure"] is False
    assert "verified clean: yes" in buf.getvalue()


def test_llm_summaries_go_through_the_gateway_backends(fake_backend, control,
                                                       tmp_path: Path) -> None:
    """With a backend serving the summarizer's model, compaction calls it through the
    gateway (Services.complete), off the request path."""
    import time

    from serve.memory.summarizers.llm import SYSTEM
    from tests.serve.conftest import backend

    plugin = memory_plugin(tmp_path / "m.sqlite", summarizer={"name": "llm"},
                           plan={"window": 2, "chunk_min": 2, "chunk_avg": 3, "chunk_max": 4,
                                 "detailed_chunks": 1, "merge_chunks": 1})
    raw = base_settings(fake_backend[1], tmp_path / "logs", memory=plugin)
    raw["backends"]["b-smol"] = backend(fake_backend[1], "up-smol",
                                        ["smollm2-135m-instruct"], edge=True)
    app = create_app(settings_from_dict(raw), router_obj=StubRouter(QUALITY, COST))
    app.include_router(memory_router)
    control.models["up-smol"].reply = "Ada owns a greyhound."
    with ThreadServer(app) as srv:
        for i in range(6):
            ask(srv.url, f"turn {i}: my greyhound Pixel likes the beach")
        deadline = time.time() + 20
        while time.time() < deadline:
            sums = HTTP.get(f"{srv.url}/v1/memory/sessions/s1").json()["summaries"]
            if sums:
                break
            time.sleep(0.1)
    calls = [c for c in control.calls if c["model"] == "up-smol"]
    assert calls and calls[0]["messages"][0]["content"] == SYSTEM
    assert sums and {s["content"] for s in sums} == {"Ada owns a greyhound."}
