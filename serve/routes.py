"""HTTP endpoints: chat completions, models, feedback, health, metrics."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask

from serve.admin import is_admin
from serve.body_limit import read_body
from serve.body_rules import check_depth
from serve.context import RequestContext
from serve.errors import GatewayError, bad_request
from serve.filters import StopOutput, filter_message
from serve.gateway import Gateway
from serve.jsonfast import dumps, loads
from serve.local import completion_doc
from serve.pipeline import Pipeline
from serve.state.build import degraded
from serve.streaming import RelayResponse


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


# async on purpose: FastAPI runs sync dependencies in a worker thread (a thread hop per
# request each; measured: 4 hops per request before this)
async def get_gateway(request: Request) -> Gateway:
    return gateway_of(request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
router = APIRouter()


def error_response(exc: GatewayError, headers: dict[str, str] | None = None) -> Response:
    return Response(exc.json_bytes(), status_code=exc.status, media_type="application/json",
                    headers={**(headers or {}), **exc.headers})


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``, the hot path: a plain Starlette route (registered
    below), not a FastAPI one. FastAPI's per-request handling (exit stacks, dependency
    solving) cost ~75 us hot in-process and 0.15-0.6 ms in interleaved A/B runs of the
    served gateway (exploratory figures, docs/benchmarks.md); this endpoint needs none of
    it: it parses and validates its own body (serve/parse.py), and the app's exception
    handlers still apply."""
    gw = gateway_of(request)
    pipeline = gw.pipeline
    try:
        raw = await read_body(request, gw.settings.max_request_bytes)
    except GatewayError as exc:
        return error_response(exc)
    ctx = RequestContext(request_id=gw.request_ids.new(), raw=raw, headers=request.headers)
    try:
        await pipeline.run(ctx, gw)
    except GatewayError as exc:
        return error_response(exc, ctx.response_headers())
    if ctx.stream:
        return RelayResponse(ctx, gw, pipeline,
                             {**ctx.response_headers(), "cache-control": "no-cache"})
    return await _answer(ctx, gw, pipeline)


async def _answer(ctx: RequestContext, gw: Gateway, pipeline: Pipeline) -> Response:
    """A non-streamed answer (the backend's, or a stage's local one) through the output
    filters; the finish hooks run before it is sent, their deferred work
    (``ctx.after_response``) once it is."""
    if ctx.local is not None:
        doc = completion_doc(ctx.local, ctx.request_id, ctx.requested_model)
    else:
        assert ctx.result is not None
        doc = ctx.result.doc
    doc["id"] = ctx.request_id  # so feedback can quote completion.id
    filters = pipeline.filters(ctx)
    try:
        ctx.answer_text = filter_message(filters, ctx, doc) if filters else message_text(doc)
    except StopOutput as stop:
        ctx.fail(stop.error)
        await pipeline.complete(ctx, gw)
        return error_response(stop.error, ctx.response_headers())
    ctx.answer_complete = True
    await pipeline.complete(ctx, gw)
    later = BackgroundTask(_after_response, ctx) if ctx.after_response else None
    return Response(dumps(doc), media_type="application/json",
                    headers=ctx.response_headers(), background=later)


async def _after_response(ctx: RequestContext) -> None:
    """The work finish hooks deferred past the response, on the event loop (not a
    thread: it is short, and inline keeps the order of a client's next request)."""
    ctx.run_after_response()


def message_text(doc: dict[str, Any]) -> str:
    """Choice 0's message text of a ``chat.completion`` ("" when none)."""
    choices = doc.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        c = (choices[0].get("message") or {}).get("content")
        return c if isinstance(c, str) else ""
    return ""


router.add_route("/v1/chat/completions", chat_completions, methods=["POST"])


@router.get("/v1/models")
async def list_models(gw: GatewayDep) -> Response:
    live = gw.pool.live_models()
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "lmroute"}
            for m in gw.served_models() if m in gw.settings.profiles or m in live]
    return Response(dumps({"object": "list", "data": data}), media_type="application/json")


@router.post("/v1/feedback")
async def feedback(request: Request, gw: GatewayDep) -> Response:
    """Attach a quality score in [0, 1] to an earlier request id (joined on request_id).
    404 for an id no gateway can have issued, or that this one has not issued yet."""
    try:
        raw = await read_body(request, gw.settings.max_feedback_bytes, "Feedback body")
        body = loads(raw)
        check_depth(raw, body)
    except GatewayError as exc:
        return error_response(exc)
    except ValueError:
        return error_response(bad_request("Request body is not valid JSON.", code="invalid_json"))
    if not isinstance(body, dict):
        return error_response(bad_request("Request body must be a JSON object "
                                          '{"request_id": ..., "quality": ...}.',
                                          code="invalid_json"))
    rid, q = body.get("request_id"), body.get("quality")
    if not isinstance(rid, str) or not rid:
        return error_response(bad_request("'request_id': expected the id of an earlier "
                                          "response (its 'id' or x-request-id).",
                                          param="request_id"))
    if (not isinstance(q, int | float) or isinstance(q, bool) or math.isnan(q)
            or not 0.0 <= q <= 1.0):
        return error_response(bad_request(f"'quality': expected a number in [0, 1], got {q!r}.",
                                          param="quality"))
    known = gw.request_ids.issued_here(rid)
    if known is False:
        return error_response(GatewayError(
            404, f"'request_id': {rid[:100]!r} is not a request this gateway served (ids look "
            "like the 'id' of a completion, 'chatcmpl-...', or its x-request-id header).",
            code="unknown_request_id", param="request_id"))
    extra = {k: v for k, v in body.items() if k not in ("request_id", "quality")}
    gw.feedback_log.append({"request_id": rid, "timestamp": datetime.now(UTC),
                            "quality": float(q), "meta": dumps(extra).decode() if extra else None})
    # known: served by this process; False: an id of another run or replica (kept for the
    # offline join, which drops feedback whose id is in no log)
    return JSONResponse({"request_id": rid, "quality": float(q), "recorded": True,
                         "known": bool(known)})


@router.get("/health/live")
async def live() -> Response:
    return JSONResponse({"status": "live"})


# what an anonymous /health/ready shows of a backend: no address, and reason texts with
# paths and host:port cut out (the admin key sees everything)
PUBLIC_BACKEND_KEYS = ("available", "reason", "cooling_down_s", "consecutive_failures",
                       "serves", "edge", "load")
_INTERNAL = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:\d{1,3}(?:\.\d{1,3}){3}|localhost)"
                       r"(?::\d+)?\S*|(?:/[^\s/:;,'\"]+){2,}/?", re.IGNORECASE)


def _redact(v: object) -> object:
    if isinstance(v, str):
        return _INTERNAL.sub("<internal>", v)
    if isinstance(v, dict):
        return {k: _redact(x) for k, x in v.items()}
    return v


def public_backends(described: dict[str, object]) -> dict[str, object]:
    """``BackendPool.describe()`` as an anonymous client may see it."""
    return {n: {k: _redact(v) for k, v in d.items() if k in PUBLIC_BACKEND_KEYS}
            for n, d in described.items() if isinstance(d, dict)}


@router.get("/health/ready")
async def ready(request: Request, gw: GatewayDep) -> Response:
    ok = gw.ready()
    backends = gw.pool.describe()
    state = gw.describe_state()
    body: dict[str, object] = {"status": "ready" if ok else "not ready",
                               "router_loaded": gw.router is not None,
                               "degraded": degraded(state)}
    if is_admin(request):
        body.update(backends=backends, state=state)
    else:
        body["backends"] = public_backends(backends)
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(gw: GatewayDep) -> Response:
    return Response(gw.metrics.render(), media_type=gw.metrics.content_type)
