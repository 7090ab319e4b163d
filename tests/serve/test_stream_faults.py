"""Streams that go wrong (issue #11, items 3-5), each failing on the gateway before the
fix: a backend that answers a stream with HTML, sends garbage, cuts or stalls a stream.
What the client sees, what the log says, and where the cooldown ends up."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from data.io import read_frame
from data.schema import learnable_policy
from tests.serve.fakes import HTTP, FakeControl

CHAT = {"model": "lmroute/auto", "stream": True,
        "messages": [{"role": "user", "content": "hello"}]}


def stream(url: str) -> tuple[int, str, list[Any]]:
    """(status, served model header, parsed events: dicts, or "[DONE]")."""
    events: list[Any] = []
    with HTTP.stream("POST", f"{url}/v1/chat/completions", json=CHAT) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                events.append(data if data == "[DONE]" else json.loads(data))
        return r.status_code, r.headers.get("x-lmroute-served-model", ""), events


def text(events: list[Any]) -> str:
    return "".join((e["choices"][0]["delta"].get("content") or "") for e in events
                   if isinstance(e, dict) and e.get("choices"))


def rows(tmp_path: Path, n: int) -> Any:
    for _ in range(100):
        try:
            df = read_frame(tmp_path / "logs" / "requests")
            if len(df) >= n:
                return df
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("log rows missing")


@pytest.mark.parametrize("fault", ["html", "garbage_sse"])
def test_a_stream_that_never_starts_falls_back_before_the_client_sees_a_byte(
        gateway, control: FakeControl, tmp_path: Path, fault: str) -> None:
    control.models["up-strong"].fault = fault
    url = gateway()
    for _ in range(2):
        status, served, events = stream(url)
        assert status == 200 and served == "m-mid" and events[-1] == "[DONE]"
        assert text(events) == "w0 w1 w2 w3 w4"  # the healthy fallback's whole answer
    status, served, _ = stream(url)  # m-strong now cooling down (cooldown_after = 2)
    assert served == "m-mid" and control.count("up-strong") == 2 * 2  # 2 calls x 2 attempts
    df = rows(tmp_path, 3)
    assert not any(learnable_policy(p) for p in df["logging_policy"][:2])


@pytest.mark.parametrize("fault", ["cut", "stall", "garbage_mid"])
def test_a_stream_broken_mid_way_ends_with_one_error_event_and_cools_the_backend(
        gateway, control: FakeControl, tmp_path: Path, fault: str) -> None:
    control.models["up-strong"].fault = fault
    url = gateway(backend_overrides={"b-strong": {"timeout_s": 1.0}})
    for _ in range(2):
        status, served, events = stream(url)
        assert status == 200 and served == "m-strong" and events[-1] == "[DONE]"
        errors = [e for e in events if isinstance(e, dict) and "error" in e]
        assert len(errors) == 1 and errors[0]["error"]["code"] == "backend_failed"
        assert "127.0.0.1" not in errors[0]["error"]["message"]
    status, served, events = stream(url)  # the breaking backend is cooling down now
    assert served == "m-mid" and text(events) == "w0 w1 w2 w3 w4"
    assert control.count("up-strong") == 2
    df = rows(tmp_path, 3)
    meta = [json.loads(m) for m in df["meta"]]
    for m in meta[:2]:  # the client got a 200 and then an error: the log says both
        assert m["status"] == 200 and m["error"]["code"] == "backend_failed"
        assert any(fault != "cut" or "Payload" in f or "ended" in f for f in m["failures"])
    assert "error" not in meta[2]


def test_a_healthy_stream_still_counts_as_a_success(gateway, control: FakeControl) -> None:
    """The positive control: a stream that ends normally resets the failure count."""
    url = gateway()
    control.models["up-strong"].fail_next = 2  # one failed call (2 attempts) -> 1 failure
    HTTP.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": False})
    health = HTTP.get(f"{url}/health/ready").json()["backends"]
    assert health["b-strong"]["consecutive_failures"] == 1
    status, served, events = stream(url)
    assert status == 200 and served == "m-strong" and text(events) == "w0 w1 w2 w3 w4"
    health = HTTP.get(f"{url}/health/ready").json()["backends"]
    assert health["b-strong"]["consecutive_failures"] == 0
