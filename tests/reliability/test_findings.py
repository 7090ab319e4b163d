"""Regression tests for what the reliability fuzzer and the chaos suite found (issue #11),
each failing on the gateway before its fix. The in-thread gateway of tests/serve."""

from __future__ import annotations

import json
import re
import tempfile

import pytest

from tests.serve.conftest import control, fake_backend, gateway  # noqa: F401 (fixtures)
from tests.serve.fakes import HTTP
from tests.serve.test_errors import assert_error, post

CHAT = {"model": "lmroute/auto", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("value", [{"type": "function", "function": {"name": "f"}},
                                   ["auto"], {"no": "type"}])
def test_tool_choice_object_or_list_is_not_a_500(gateway, value) -> None:  # noqa: F811
    """Fuzzer: an object tool_choice (the OpenAI form naming a function) was a 500
    (``dict in frozenset`` raised TypeError); a list too."""
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    r = post(gateway(), json.dumps({**CHAT, "tools": tools, "tool_choice": value}))
    if isinstance(value, dict) and "type" in value:
        assert r.status_code == 200, r.text
    else:
        assert assert_error(r, 400, "invalid_request")["param"] == "tool_choice"


def test_readiness_shows_no_backend_address_to_anonymous_clients(gateway, monkeypatch  # noqa: F811
                                                                 ) -> None:
    """Fuzzer: GET /health/ready (no auth) listed every backend's base_url (host:port);
    reason texts (which can hold paths and addresses) are shown with those cut out; the
    admin key sees everything."""
    from serve.routes import public_backends

    monkeypatch.setenv("LMROUTE_ADMIN_KEY", "adm")
    url = gateway(backend_overrides={"b-mid": {"api_key_env": "NOT_SET_ANYWHERE"}})
    r = HTTP.get(f"{url}/health/ready")
    assert r.status_code == 200 and "127.0.0.1" not in r.text and "base_url" not in r.text
    mid = r.json()["backends"]["b-mid"]
    assert mid["available"] is False and "NOT_SET_ANYWHERE" in mid["reason"]
    full = HTTP.get(f"{url}/health/ready", headers={"authorization": "Bearer adm"}).json()
    assert full["backends"]["b-mid"]["base_url"].startswith("http://127.0.0.1:")
    edge = public_backends({"e": {"reason": "llama.cpp server exited; see /srv/run/x.log",
                                  "load": {"last_error": "http://10.1.2.3:8000/metrics: 503"}}})
    assert "/srv/run" not in str(edge) and "10.1.2.3" not in str(edge)


@pytest.mark.parametrize("body", [b"[]", b"3.5", b'"x"', b"null"])
def test_a_body_that_is_not_an_object_says_so(gateway, monkeypatch, body: bytes) -> None:  # noqa: F811
    """Fuzzer: feedback and admin bodies that are not JSON objects were blamed on a field
    ('request_id', 'path') instead of the body."""
    monkeypatch.setenv("LMROUTE_ADMIN_KEY", "adm")
    url = gateway()
    headers = {"content-type": "application/json", "authorization": "Bearer adm"}
    for path in ("/v1/feedback", "/admin/router"):
        err = assert_error(HTTP.post(f"{url}{path}", content=body, headers=headers), 400,
                           "invalid_json")
        assert err["param"] is None and "JSON object" in err["message"]


def test_admin_errors_are_openai_errors_and_permissions_are_booleans(gateway, monkeypatch  # noqa: F811
                                                                     ) -> None:
    """Fuzzer: a refused swap answered {"error": "<text>"} (not an error object), and
    "allow_model_change": "no" meant True (bool("no"))."""
    monkeypatch.setenv("LMROUTE_ADMIN_KEY", "adm")
    url = gateway()
    admin = {"authorization": "Bearer adm"}
    r = HTTP.post(f"{url}/admin/router", json={"path": "/nonexistent"}, headers=admin)
    err = assert_error(r, 409, "router_refused")
    assert err["param"] == "path" and r.json()["swapped"] is False
    r = HTTP.post(f"{url}/admin/router", json={"path": "/x", "allow_model_change": "no"},
                  headers=admin)
    assert assert_error(r, 400, "invalid_request")["param"] == "allow_model_change"


@pytest.mark.parametrize(("headers", "param"), [
    ({"x-lmroute-weights": "w_cost=-1"}, "x-lmroute-weights"),  # message lacked the name
    ({"x-lmroute-weights": "w_cost=1", "x-lmroute-tradeoff": "nan"}, "x-lmroute-tradeoff"),
    ({"x-lmroute-weights": "w_cost=1", "x-lmroute-tradeoff": "0.5"}, "x-lmroute-tradeoff"),
    ({"x-lmroute-sensitive": "ture"}, "x-lmroute-sensitive"),  # was silently "not sensitive"
    ({"x-lmroute-task": "x" * 65}, "x-lmroute-task"),
    ({"x-lmroute-task": "code; drop"}, "x-lmroute-task"),
])
@pytest.mark.parametrize("model", ["lmroute/auto", "m-mid"])
def test_routing_headers_are_never_silently_ignored(gateway, headers, param, model  # noqa: F811
                                                    ) -> None:
    """Fuzzer: a bad x-lmroute-tradeoff next to x-lmroute-weights was ignored, negative
    weights on a concrete model passed, a misspelt x-lmroute-sensitive meant 'no' (a
    private request could go to a cloud backend), any task label went to the log."""
    r = post(gateway(), json.dumps({**CHAT, "model": model}), headers)
    err = assert_error(r, 400, "invalid_request")
    assert err["param"] == param and param in err["message"]


def test_good_routing_headers_still_pass(gateway) -> None:  # noqa: F811
    url = gateway()
    for h in ({"x-lmroute-sensitive": "No"}, {"x-lmroute-sensitive": "TRUE"},
              {"x-lmroute-task": "code/python-3.11"}, {"x-lmroute-weights": "w_cost=0"}):
        assert post(url, json.dumps(CHAT), h).status_code == 200, h


@pytest.mark.parametrize(("extra", "param"), [
    ({"max_tokens": 5, "max_completion_tokens": "x"}, "max_completion_tokens"),
    ({"max_tokens": None, "max_completion_tokens": -5}, "max_completion_tokens"),
    ({"seed": 2**63}, "seed"),  # beyond int64: what upstreams take
])
def test_every_token_limit_and_the_seed_are_checked(gateway, extra, param) -> None:  # noqa: F811
    """Fuzzer: with max_tokens present, max_completion_tokens went upstream unchecked."""
    err = assert_error(post(gateway(), json.dumps({**CHAT, **extra})), 400, "invalid_request")
    assert err["param"] == param


@pytest.fixture(scope="module")
def guard_artifact(tmp_path_factory) -> str:
    from tests.router_model.guard.conftest import build_artifact

    never = {"strict": 1.01, "balanced": 1.01, "permissive": 1.01}  # untrained: rules decide
    th = {"injection": never, "harmful": never, "tag": never}
    return str(build_artifact(tmp_path_factory.mktemp("guard"), th)[0])


SECRET = "my key is AKIAIOSFODNN7EXAMPLE, store it"


@pytest.mark.parametrize(("body", "param"), [
    ({"tool_call": {"name": "search", "arguments": "{}"}, "text": SECRET}, "tool_call"),
    ({"text": SECRET, "messages": [{"role": "user", "content": "hi"}]}, "messages"),
    ({"messages": [{"role": "user", "content": 123}]}, "messages[0].content"),
    ({"messages": [{"role": "wizard", "content": SECRET}]}, "messages[0].role"),
    ({"tool_call": {"arguments": SECRET}}, "tool_call.name"),
    ({"text": None}, "text"),
])
def test_the_guard_check_endpoint_never_allows_what_it_did_not_read(
        gateway, guard_artifact, body, param) -> None:  # noqa: F811
    """Fuzzer: POST /v1/guard checked only the first of text / messages / tool_call it
    found and skipped malformed messages, so a secret next to a tool call, or in a
    message with a bad role, was answered "allow". Now: exactly one, well-formed, or 400."""
    plugin = {"enabled": True, "before": "pre-checks",
              "stage": {"_target_": "serve.stages.guard.GuardStage",
                        "artifact": guard_artifact, "preset": "strict"}}
    url = gateway(guard=plugin)
    r = HTTP.post(f"{url}/v1/guard", json=body)
    err = assert_error(r, 400, "invalid_request")
    assert err["param"] == param, err
    ok = HTTP.post(f"{url}/v1/guard", json={"text": SECRET})  # the same text, alone: read
    assert ok.status_code == 200 and ok.json()["verdict"] == "block", ok.text


@pytest.mark.parametrize("model", ["a\r\nx-injected: 1", "a\nb", "\x00", "\u00e9\u2028",
                                   "m" * 900_000])
def test_a_model_name_that_cannot_be_a_header_is_a_clean_404(fuzz_target, model: str
                                                             ) -> None:
    """Fuzzer: the requested model is echoed in x-lmroute-model; with a CR, LF or NUL in
    it uvicorn (httptools) dropped the connection without a response, with a non-Latin-1
    character it answered 500, and a 900 KB name came back as a 900 KB header and error
    message. Served by a gateway process (the production stack: uvloop + httptools)."""
    import httpx

    gw, key, _ = fuzz_target
    r = httpx.post(f"{gw.url}/v1/chat/completions", json={**CHAT, "model": model},
                   headers={"authorization": f"Bearer {key}"}, timeout=10)
    err = assert_error(r, 404, "model_not_found")
    assert len(r.content) < 1000 and r.headers["x-lmroute-model"].isascii()
    assert "\n" not in r.headers["x-lmroute-model"] and len(err["message"]) < 400


@pytest.mark.parametrize("seconds", [-81, 0, 1e308])
def test_memory_ttl_names_its_field(gateway, tmp_path, seconds) -> None:  # noqa: F811
    """Fuzzer: POST /v1/memory/sessions/{id}/ttl with seconds <= 0 answered a 400 that
    named 'ttl_s' (an internal argument) and no param."""
    plugin = {"enabled": True, "before": "pre-checks",
              "stage": {"_target_": "serve.stages.memory.MemoryStage",
                        "db_path": str(tmp_path / "mem.sqlite"),
                        "summarizer": {"name": "stub"}, "retrieval": "bm25",
                        "ttl_sweep_s": 0.0}}
    url = gateway(memory=plugin)
    assert post(url, json.dumps({**CHAT, "user": "s1"})).status_code == 200
    r = HTTP.post(f"{url}/v1/memory/sessions/s1/ttl", json={"seconds": seconds})
    err = assert_error(r, 400, "invalid_request")
    assert err["param"] == "seconds" and "'seconds'" in err["message"]
    assert HTTP.post(f"{url}/v1/memory/sessions/s1/ttl", json={"seconds": 60}
                     ).status_code == 200


def test_an_erasure_receipt_holds_no_server_path(gateway, tmp_path) -> None:  # noqa: F811
    """make fuzz (schemathesis, seed 13690335): DELETE /v1/memory/sessions/{id} answered a
    receipt whose "remains" named the gateway's log directory (``decision log
    (/tmp/.../logs): ...``), a server path, to the client."""
    plugin = {"enabled": True, "before": "pre-checks",
              "stage": {"_target_": "serve.stages.memory.MemoryStage",
                        "db_path": str(tmp_path / "mem.sqlite"),
                        "summarizer": {"name": "stub"}, "retrieval": "bm25"}}
    url = gateway(memory=plugin)
    assert post(url, json.dumps({**CHAT, "user": "s1"})).status_code == 200
    r = HTTP.request("DELETE", f"{url}/v1/memory/sessions/s1", json={"reason": "fuzz"})
    assert r.status_code == 200, r.text
    assert any("decision log" in x for x in r.json()["remains"])  # still said
    assert tempfile.gettempdir() not in r.text and not re.search(r"\(/[^)]*\)", r.text)


@pytest.mark.parametrize("where", ["x-lmroute-session", "user"])
def test_a_long_session_id_names_where_it_came_from(gateway, tmp_path, where) -> None:  # noqa: F811
    """make fuzz (seed 13690335): a session id over 200 characters was a 400 whose message
    named no field ("The memory session id must be at most 200 characters."), and whose
    param was the header even when the id came from the body's user."""
    plugin = {"enabled": True, "before": "pre-checks",
              "stage": {"_target_": "serve.stages.memory.MemoryStage",
                        "db_path": str(tmp_path / "mem.sqlite"),
                        "summarizer": {"name": "stub"}, "retrieval": "bm25"}}
    url = gateway(memory=plugin)
    body, headers = dict(CHAT), {}
    if where == "user":
        body["user"] = "x" * 201
    else:
        headers[where] = "x" * 201
    r = post(url, json.dumps(body), headers=headers)
    err = assert_error(r, 400, "invalid_session")
    assert err["param"] == where and f"'{where}'" in err["message"]
