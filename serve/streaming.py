"""Relay of an upstream SSE stream to the client, measuring TTFT and usage.

The upstream is always asked for ``stream_options.include_usage`` (to log real token
counts); its usage-only chunk is forwarded only when the client asked for it too.
When the stream ends the pipeline's finish stages run, exactly once, also when the client
goes away mid-stream or before the first byte (``RelayResponse``): the request is then
logged with status 499 (``client_disconnected``) and the upstream call is closed, so the
backend stops generating for nobody.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from serve.context import RequestContext
from serve.errors import GatewayError, upstream_failed
from serve.jsonfast import dumps, loads
from serve.stages.call import record_failure

if TYPE_CHECKING:
    from serve.gateway import Gateway
    from serve.pipeline import Pipeline

log = logging.getLogger(__name__)
DONE = b"data: [DONE]\n\n"


class RelayResponse(StreamingResponse):
    """The SSE response of a streamed request. Its finish stages run once the response
    is over, however it ends: stream done, upstream broken, or client gone (before the
    first byte too, when the relay generator never started)."""

    def __init__(self, ctx: RequestContext, gw: Gateway, pipeline: Pipeline,
                 headers: dict[str, str]) -> None:
        super().__init__(relay(ctx, gw, pipeline), media_type="text/event-stream",
                         headers=headers)
        self._request = (ctx, gw, pipeline)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            ctx, gw, pipeline = self._request
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                if not ctx.completed:  # the relay never started: the client left first
                    await _finish(ctx, gw, pipeline, ended=False)


async def relay(ctx: RequestContext, gw: Gateway, pipeline: Pipeline) -> AsyncIterator[bytes]:
    """Yield SSE frames ``data: ...\\n\\n`` from the upstream stream of ``ctx``."""
    handle = ctx.stream_handle
    assert handle is not None and ctx.answered is not None
    upstream_id, our_id = b"", b'"' + ctx.request_id.encode() + b'"'
    ended = False
    try:
        async for data in handle.events():
            if data == b"[DONE]":
                break
            if ctx.ttft_ms is None:
                ctx.ttft_ms = (time.perf_counter() - handle.started) * 1e3
                upstream_id = _chunk_id(data)
            if upstream_id:  # chunks carry the gateway's request id (for feedback)
                data = data.replace(upstream_id, our_id, 1)
            if b'"usage"' in data and not _keep_usage_chunk(ctx, data):
                continue
            ctx.chunks += 1
            yield b"data: " + data + b"\n\n"
        ended = True
        yield DONE
    except (aiohttp.ClientError, TimeoutError, ValueError, TypeError) as exc:
        ended = True  # the upstream broke mid-stream, or sent what is not SSE JSON
        ctx.error = upstream_failed(f"backend {ctx.answered.backend.name!r} failed "
                                    f"mid-stream: {type(exc).__name__}")
        ctx.status = 502
        record_failure(gw, ctx.answered, str(exc))
        yield b"data: " + dumps(ctx.error.body()) + b"\n\n"
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled request still logs its row
            await _finish(ctx, gw, pipeline, ended)


async def _finish(ctx: RequestContext, gw: Gateway, pipeline: Pipeline, ended: bool) -> None:
    """Close the upstream call and run the finish stages (once); a stream that did not
    end was abandoned by the client."""
    if ctx.completed:
        return
    if not ended and ctx.error is None:
        ctx.error = GatewayError(499, f"client disconnected after {ctx.chunks} chunk(s), "
                                 "before the stream ended", code="client_disconnected")
        ctx.status = 499
        log.info("request %s: client disconnected mid-stream", ctx.request_id)
    try:
        if ctx.stream_handle is not None:
            await ctx.stream_handle.aclose()
    finally:
        await pipeline.complete(ctx, gw)


def _keep_usage_chunk(ctx: RequestContext, data: bytes) -> bool:
    """Record usage from a chunk; False = drop it (usage-only, client did not ask)."""
    try:
        doc = loads(data)
    except ValueError:
        return True
    usage = doc.get("usage") if isinstance(doc, dict) else None
    if not isinstance(usage, dict):
        return True
    assert ctx.stream_handle is not None
    ctx.stream_handle.usage = {k: int(usage.get(k) or 0)
                               for k in ("prompt_tokens", "completion_tokens")}
    return ctx.include_usage or bool(doc.get("choices"))


def _chunk_id(data: bytes) -> bytes:
    try:
        doc = loads(data)
    except ValueError:
        return b""
    cid = doc.get("id") if isinstance(doc, dict) else None
    return b'"' + cid.encode() + b'"' if isinstance(cid, str) and cid else b""
