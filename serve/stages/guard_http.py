"""``POST /v1/guard``: the guard as a check endpoint for agent frameworks.

An agent calls it before it executes an action. Body (JSON), one of:

- ``{"text": "..."}``: a message;
- ``{"messages": [{"role", "content"}, ...]}``: a conversation (each text checked);
- ``{"tool_call": {"name": "...", "arguments": "<JSON text>" | {...}}}``: an action.

Optional ``"model"``: the routing profile whose policy applies. With auth on, the key's
policy (and tool allow-list) applies, as in the chat route. Answer::

    {"verdict", "categories", "scores": {category: float}, "pii": [{"entity_type",
     "start", "end"}], "redacted", "micros", "reason"}

404 when the gateway runs without the guard stage; 400 for a bad body; 401 for a bad key.
The same check as a Python call: ``GuardStage.check_action`` (or, without a gateway,
``router_model.guard.Guard.check`` / ``router_model.guard.tools.check_tool_call``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from router_model.guard.decision import GuardDecision
from serve.body_limit import read_body
from serve.body_rules import check_depth, check_message
from serve.errors import GatewayError, bad_request, unauthorized
from serve.jsonfast import dumps, loads
from serve.routes import GatewayDep, error_response
from serve.stages.guard import GuardStage

guard_router = APIRouter()


def _stage(gw: Any) -> GuardStage:
    for s in gw.pipeline.stages:
        if isinstance(s, GuardStage) and s.guard is not None:
            return s
    raise GatewayError(404, "The guard is not enabled on this gateway (serve guard=...).",
                       code="guard_disabled")


async def _key(request: Request, gw: Any) -> Any:
    if gw.keys is None:
        return None
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    record = await gw.keys.run(gw.keys.authenticate, token) if token else None
    if record is None:
        raise unauthorized("Missing or invalid API key: send 'Authorization: Bearer lmr-...'.")
    return record


def _body(raw: bytes) -> dict[str, Any]:
    """The body, checked: exactly one of text / messages / tool_call, each well-formed (a
    check endpoint must never answer "allow" for input it did not read: a malformed
    message or a second field would otherwise be skipped)."""
    try:
        body = loads(raw)
    except ValueError:
        raise bad_request("Request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.", code="invalid_json")
    check_depth(raw, body)
    given = [k for k in ("text", "messages", "tool_call") if k in body]
    if len(given) != 1:
        raise bad_request("Expected exactly one of 'text', 'messages' or 'tool_call', got "
                          f"{given or 'none'}.", param=given[1] if given[1:] else "text")
    if given == ["text"] and not isinstance(body["text"], str):
        raise bad_request("'text': expected a string.", param="text")
    if given == ["messages"]:
        if not isinstance(body["messages"], list):
            raise bad_request("'messages': expected a list of {role, content}.",
                              param="messages")
        for i, m in enumerate(body["messages"]):
            check_message(i, m)
    if given == ["tool_call"]:
        _check_tool_call(body["tool_call"])
    if not isinstance(body.get("model", ""), str):
        raise bad_request("'model': expected a string (a routing profile).", param="model")
    return body


def _check_tool_call(tc: Any) -> None:
    if not isinstance(tc, dict) or not isinstance(tc.get("name"), str) or not tc["name"]:
        raise bad_request("'tool_call': expected {\"name\": <non-empty string>, "
                          "\"arguments\": <JSON text or object>}.", param="tool_call.name")
    if not isinstance(tc.get("arguments", ""), str | dict):
        raise bad_request("'tool_call.arguments': expected JSON text or an object.",
                          param="tool_call.arguments")


def decision_json(d: GuardDecision) -> dict[str, Any]:
    rec = d.scan_record(None)
    rec.pop("id")
    rec["reason"] = d.reason
    return rec


@guard_router.post("/v1/guard")
async def guard_check(request: Request, gw: GatewayDep) -> Response:
    try:
        stage = _stage(gw)
        key = await _key(request, gw)
        body = _body(await read_body(request, gw.settings.max_request_bytes, "Guard body"))
        d = stage.check_action(body, key)
    except GatewayError as exc:
        return error_response(exc)
    return Response(dumps(decision_json(d)), media_type="application/json")
