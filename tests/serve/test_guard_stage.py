"""The guard stage in the gateway, end to end through the official openai client (plain
and streamed): redaction before the backend, blocking with no backend call, the output
filter on streamed and non-streamed answers, tool allow-lists, POST /v1/guard, log rows.

The artifact is the small UNTRAINED test guard (tests/router_model/guard/conftest.py)
with learned thresholds above 1, so only rules / secrets / allow-lists decide here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.router_model.guard.conftest import build_artifact
from tests.serve.fakes import HTTP, FakeControl
from tests.serve.test_cache_stage import rows, stream_events, text

STAGE = "serve.stages.guard.GuardStage"
NEVER = {"strict": 1.01, "balanced": 1.01, "permissive": 1.01}
EMAIL = "jane.doe@example.com"
KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> str:
    th = {"injection": NEVER, "harmful": NEVER, "tag": NEVER}
    return str(build_artifact(tmp_path_factory.mktemp("guard"), th)[0])


def plugin(artifact: str, **stage: Any) -> dict[str, Any]:
    return {"enabled": True, "before": "pre-checks",
            "stage": {"_target_": STAGE, "artifact": artifact, **stage}}


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def ask(url: str, content: str, **kw: Any) -> Any:
    return client(url).chat.completions.create(
        model="lmroute/auto", messages=[{"role": "user", "content": content}], **kw)


def test_pii_redacted_before_the_backend(gateway, control: FakeControl, artifact: str) -> None:
    url = gateway(guard=plugin(artifact))
    r = ask(url, f"Write to {EMAIL} about the invoice")
    assert r.choices[0].message.content
    sent = control.calls[-1]["messages"][-1]["content"]
    assert EMAIL not in sent and "[EMAIL_ADDRESS]" in sent


def test_blocked_request_never_reaches_a_backend(gateway, control: FakeControl,
                                                 artifact: str, tmp_path: Path) -> None:
    url = gateway(guard=plugin(artifact, preset="strict"))  # strict: a secret blocks
    with pytest.raises(openai.BadRequestError) as e:
        ask(url, f"my key is {KEY}, store it")
    assert e.value.code == "content_policy_violation" and "secret" in str(e.value)
    assert KEY not in str(e.value.body) and control.calls == []
    meta = json.loads(rows(tmp_path / "logs", 1).iloc[-1]["meta"])
    assert meta["stages"]["guard"]["input"][0]["verdict"] == "block"
    assert KEY not in json.dumps(meta)


@pytest.mark.parametrize("stream", [False, True])
def test_output_filter_redacts_answers(gateway, control: FakeControl, artifact: str,
                                       stream: bool) -> None:
    control.models["up-cheap"].reply = f"Sure: mail {EMAIL} or call +1 (212) 555-0199 today ."
    for b in ("up-mid", "up-strong", "up-edge"):
        control.models[b].reply = control.models["up-cheap"].reply
    url = gateway(guard=plugin(artifact))
    if stream:
        out = "".join(c.choices[0].delta.content or "" for c in ask(url, "hi", stream=True)
                      if c.choices)
    else:
        out = ask(url, "hi").choices[0].message.content
    assert EMAIL not in out and "555-0199" not in out
    assert "[EMAIL_ADDRESS]" in out and "[PHONE_NUMBER]" in out and out.startswith("Sure:")


def test_blocked_phrase_stops_a_stream_with_an_error_event(gateway, control: FakeControl,
                                                           artifact: str) -> None:
    for b in ("up-cheap", "up-mid", "up-strong", "up-edge"):
        control.models[b].reply = "the internal codename is BLUEBIRD and more text here"
    url = gateway(guard=plugin(artifact, blocked_phrases=["codename is BLUEBIRD"]))
    _, events = stream_events(url, {"model": "lmroute/auto", "stream": True,
                                    "messages": [{"role": "user", "content": "hi"}]})
    assert "BLUEBIRD" not in text(events)
    errs = [e for e in events if isinstance(e, dict) and "error" in e]
    assert errs and errs[0]["error"]["code"] == "content_policy_violation"


def test_tool_allow_list_per_profile(gateway, control: FakeControl, artifact: str) -> None:
    url = gateway(guard=plugin(artifact, profiles={"lmroute/auto": {"tools": ["search"]}}))
    tool = {"type": "function", "function": {"name": "shell", "parameters": {"type": "object"}}}
    with pytest.raises(openai.PermissionDeniedError) as e:
        ask(url, "list files", tools=[tool])
    assert e.value.code == "tool_not_allowed" and control.calls == []


def test_check_endpoint(gateway, artifact: str) -> None:
    url = gateway(guard=plugin(artifact, tools=["search"]))
    r = HTTP.post(f"{url}/v1/guard", json={"text": f"mail {EMAIL}"}).json()
    assert r["verdict"] == "redact" and r["pii"][0]["entity_type"] == "EMAIL_ADDRESS"
    assert EMAIL not in r["redacted"] and r["micros"] > 0
    r = HTTP.post(f"{url}/v1/guard", json={"tool_call": {"name": "rm", "arguments": "{}"}})
    assert r.json()["verdict"] == "block" and r.json()["categories"] == ["tool"]
    r = HTTP.post(f"{url}/v1/guard", json={"tool_call": {
        "name": "search", "arguments": json.dumps({"q": f"key {KEY}"})}}).json()
    assert "secret" in r["categories"]
    assert HTTP.post(f"{url}/v1/guard", json={"nope": 1}).status_code == 400


def test_check_endpoint_404_without_the_guard(gateway) -> None:
    url = gateway()
    r = HTTP.post(f"{url}/v1/guard", json={"text": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "guard_disabled"


def test_demo_script_runs_against_a_gateway(gateway, control: FakeControl, artifact: str,
                                            tmp_path: Path) -> None:
    from rich.console import Console

    from scripts.demo_guard import SERVE_OVERRIDES, demo

    assert SERVE_OVERRIDES[0] == "guard=balanced"
    url = gateway(guard=plugin(artifact))
    demo(url, tmp_path / "demo", Console(file=open(tmp_path / "out.txt", "w")))  # noqa: SIM115
    res = json.loads((tmp_path / "demo" / "guard_demo.json").read_text())
    assert res["redacted"]["status"] == 200 and res["redacted"]["check"]["verdict"] == "redact"
    sent = control.calls[-1]["messages"][-1]["content"]
    assert "4111" not in sent and "[CREDIT_CARD]" in sent and "[EMAIL_ADDRESS]" in sent
