"""The memory's HTTP endpoints (the same operations as ``lmroute memory ...``), for the
calling API key's own sessions (``Authorization: Bearer`` when auth is on; without auth
every caller is the owner ``public``). 404 when the gateway runs without the memory stage.

    GET    /v1/memory/sessions                        the key's sessions
    GET    /v1/memory/sessions/{id}[?version=N]       state: messages, summaries + provenance
    GET    /v1/memory/sessions/{id}/versions          the version history
    POST   /v1/memory/sessions/{id}/rollback          {"version": N, "reason": "..."}
    POST   /v1/memory/sessions/{id}/erase             {"message_ids": [...], "reason": "..."}
                                                      -> the erasure receipt
    DELETE /v1/memory/sessions/{id}                   {"reason": "..."} -> erase the session
    GET    /v1/memory/sessions/{id}/audit             entries + the chain's verification
    POST   /v1/memory/sessions/{id}/ttl               {"seconds": X | null, "message_id"?}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serve.body_limit import read_body
from serve.errors import GatewayError, bad_request, unauthorized
from serve.jsonfast import dumps, loads
from serve.memory.types import to_dict
from serve.routes import GatewayDep
from serve.stages.memory import PUBLIC, MemoryStage, run_memory

memory_router = APIRouter(prefix="/v1/memory")
MAX_BODY = 1 << 20


def _stage(gw: Any) -> MemoryStage:
    for s in gw.pipeline.stages:
        if isinstance(s, MemoryStage) and s.memory is not None:
            return s
    raise GatewayError(404, "Memory is not enabled on this gateway (serve memory=sqlite).",
                       code="memory_disabled")


async def _owner(request: Request, gw: Any) -> str:
    if gw.keys is None:
        return PUBLIC
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    record = await gw.keys.run(gw.keys.authenticate, token) if token else None
    if record is None:
        raise unauthorized("Missing or invalid API key: send 'Authorization: Bearer lmr-...'.")
    return str(record.key_id)


async def _json(request: Request) -> dict[str, Any]:
    raw = await read_body(request, MAX_BODY)
    try:
        body = loads(raw) if raw else {}
    except ValueError:
        raise bad_request("Request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.", code="invalid_json")
    return body


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("'reason': expected a non-empty string.", param="reason")
    return reason


async def _call(gw: Any, fn: Any, *args: Any) -> Response:
    out = await run_memory(gw.run_sync, fn, *args, prefix="")
    doc = out.to_json() if hasattr(out, "to_json") else to_dict(out)
    return Response(dumps(doc), media_type="application/json")


@memory_router.get("/sessions")
async def sessions(request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    return await _call(gw, mem.store.sessions, await _owner(request, gw))


@memory_router.get("/sessions/{session_id}")
async def state(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    v = request.query_params.get("version")
    if v is not None and not v.lstrip("-").isdigit():
        raise bad_request("'version': expected an integer.", param="version")
    return await _call(gw, mem.state, await _owner(request, gw), session_id,
                       int(v) if v is not None else None)


@memory_router.get("/sessions/{session_id}/versions")
async def versions(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    return await _call(gw, mem.versions, await _owner(request, gw), session_id)


@memory_router.post("/sessions/{session_id}/rollback")
async def rollback(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    body = await _json(request)
    v = body.get("version")
    if not isinstance(v, int) or isinstance(v, bool):
        raise bad_request("'version': expected an integer.", param="version")
    return await _call(gw, mem.rollback, await _owner(request, gw), session_id, v,
                       _reason(body))


@memory_router.post("/sessions/{session_id}/erase")
async def erase(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    body = await _json(request)
    ids = body.get("message_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise bad_request("'message_ids': expected a non-empty list of message ids.",
                          param="message_ids")
    return await _call(gw, mem.erase, await _owner(request, gw), session_id, ids,
                       _reason(body))


@memory_router.delete("/sessions/{session_id}")
async def erase_session(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    body = await _json(request)
    return await _call(gw, mem.erase, await _owner(request, gw), session_id, None,
                       _reason(body))


@memory_router.get("/sessions/{session_id}/audit")
async def audit(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    owner = await _owner(request, gw)

    def read() -> dict[str, Any]:
        entries, report = mem.audit(owner, session_id)
        return {"verification": to_dict(report), "entries": to_dict(entries)}

    return await _call(gw, read)


@memory_router.post("/sessions/{session_id}/ttl")
async def ttl(session_id: str, request: Request, gw: GatewayDep) -> Response:
    mem = _stage(gw).memory
    assert mem is not None
    body = await _json(request)
    seconds = body.get("seconds")
    if seconds is not None and (not isinstance(seconds, int | float) or
                                isinstance(seconds, bool) or not 0 < seconds < 1e12):
        raise bad_request("'seconds': expected a number of seconds > 0 (below 1e12) or null.",
                          param="seconds")
    mid = body.get("message_id")
    if mid is not None and not isinstance(mid, str):
        raise bad_request("'message_id': expected a string.", param="message_id")
    owner = await _owner(request, gw)

    def set_ttl() -> dict[str, Any]:
        return {"expires_at": mem.set_ttl(owner, session_id,
                                          None if seconds is None else float(seconds), mid)}

    return await _call(gw, set_ttl)
