"""The SSE response of a streamed request: the upstream's chunks (or a local answer's)
through the request's output filters to the client, measuring usage and keeping the text.

What the client sees and what the log records agree (issue #11, item 5):
- a stream that ends normally (``[DONE]``, or the end of the body after a chunk with a
  ``finish_reason``) counts as the backend's success and sets ``ctx.answer_complete``;
- a stream that breaks after it started (connection cut, a read that stalls past the
  backend's ``timeout_s``, an event that is not a JSON chunk) cannot change the HTTP status
  the client already has (200): the client gets one SSE error event and ``[DONE]``; the
  log row keeps ``status`` 200 (what was sent) with ``meta.error`` (code
  ``backend_failed``), so it is never a learnable routing sample; the backend is charged a
  failure (cooldowns count broken streams);
- a filter that stops the output (``StopOutput``) ends it the same way with its error;
- a client that leaves before the end: status 499 (``client_disconnected``), the upstream
  call is closed so the backend stops generating for nobody.
The upstream is always asked for ``stream_options.include_usage`` (real token counts);
its usage-only chunk is forwarded only when the client asked for it too. The finish hooks
run exactly once, however the response ends; on a normal end they run before ``[DONE]`` is
sent, so a client that reads ``[DONE]`` and sends its next turn at once finds this one in
the conversation memory and the cache (a CI run saw the race when they ran after it);
work a hook defers (``ctx.after_response``: the cache's vector index insert) runs after
the response is over.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from serve.context import RequestContext
from serve.errors import GatewayError, upstream_failed
from serve.filters import Chunk, OutputFilter, StopOutput, run_chunk, run_end
from serve.jsonfast import dumps, loads
from serve.local import chunk_docs
from serve.stages.call import record_failure

if TYPE_CHECKING:
    from serve.pipeline import Pipeline

log = logging.getLogger(__name__)
DONE = b"data: [DONE]\n\n"


class BrokenStream(Exception):
    """The upstream stream ended or went wrong after it started."""


class RelayResponse(StreamingResponse):
    """The SSE response; its finish hooks run once the response is over, however it ends
    (stream done, upstream broken, filter stop, or client gone, before the first byte too)."""

    def __init__(self, ctx: RequestContext, svc: Any, pipeline: Pipeline,
                 headers: dict[str, str]) -> None:
        super().__init__(relay(ctx, svc, pipeline, pipeline.filters(ctx)),
                         media_type="text/event-stream", headers=headers)
        self._request = (ctx, svc, pipeline)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            ctx, svc, pipeline = self._request
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                if not ctx.completed:  # the relay never started: the client left first
                    await _finish(ctx, svc, pipeline, ended=False)
            ctx.run_after_response()  # the stream is over: the finish hooks' deferred work


def _frame(chunk: Chunk) -> bytes:
    return b"data: " + (chunk.raw if chunk.raw is not None else dumps(chunk.doc)) + b"\n\n"


def _emit(ctx: RequestContext, chunks: list[Chunk]) -> bytes:
    """SSE frames of ``chunks``; their text joins ``ctx.answer_text``."""
    out = []
    for c in chunks:
        text = c.content
        if text:
            ctx.answer_text += text
            ctx.chunks += 1
        out.append(_frame(c))
    return b"".join(out)


async def relay(ctx: RequestContext, svc: Any, pipeline: Pipeline,
                filters: list[OutputFilter]) -> AsyncIterator[bytes]:
    """Yield the SSE frames of the answer of ``ctx``."""
    ended = False
    source = _local_chunks(ctx) if ctx.local is not None else _upstream_chunks(ctx)
    try:
        async for chunk in source:
            data = _emit(ctx, run_chunk(filters, ctx, chunk) if filters else [chunk])
            if data:
                yield data
        tail = _emit(ctx, run_end(filters, ctx)) if filters else b""
        ended, ctx.answer_complete = True, True
        if tail:
            yield tail
        with anyio.CancelScope(shield=True):  # before [DONE]: read-your-writes (see module)
            await _finish(ctx, svc, pipeline, ended)
        yield DONE
    except StopOutput as stop:
        ended = True
        ctx.error = stop.error  # the client already has its 200: status stays what was sent
        log.info("request %s: output stopped by a filter: %s", ctx.request_id, stop.error.code)
        yield b"data: " + dumps(stop.error.body()) + b"\n\n" + DONE
    except (BrokenStream, aiohttp.ClientError, TimeoutError, ValueError, TypeError) as exc:
        ended = True
        yield _broken(ctx, svc, exc)
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled request still logs its row
            await _finish(ctx, svc, pipeline, ended)


def _broken(ctx: RequestContext, svc: Any, exc: Exception) -> bytes:
    assert ctx.answered is not None
    name = ctx.answered.backend.name
    detail = f"backend {name!r} failed mid-stream: {type(exc).__name__}: {exc}"
    ctx.error = upstream_failed(f"backend {name!r} failed mid-stream "
                                f"({type(exc).__name__}) after {ctx.chunks} chunk(s)")
    ctx.failures.append(detail[:500])
    record_failure(svc, ctx.answered, detail)
    return b"data: " + dumps(ctx.error.body()) + b"\n\n" + DONE


async def _upstream_chunks(ctx: RequestContext) -> AsyncIterator[Chunk]:
    """The upstream's chunks, parsed (each must be a JSON object), with the gateway's
    request id; the usage-only chunk only when the client asked for usage. Raises
    ``BrokenStream`` when the stream ends without its end."""
    handle = ctx.stream_handle
    assert handle is not None and ctx.answered is not None
    upstream_id, our_id, finished = b"", b'"' + ctx.request_id.encode() + b'"', False
    async for data in handle.events():
        if data == b"[DONE]":
            finished = True
            break
        doc = loads(data)
        if not isinstance(doc, dict) or "error" in doc:
            raise BrokenStream(f"an event that is not a chunk: {data[:120]!r}")
        if not upstream_id and isinstance(doc.get("id"), str) and doc["id"]:
            upstream_id = b'"' + doc["id"].encode() + b'"'
        if upstream_id:  # chunks carry the gateway's request id (for feedback)
            data = data.replace(upstream_id, our_id, 1)
            doc["id"] = ctx.request_id
        chunk = Chunk(doc, data)
        finished = finished or chunk.finish_reason is not None
        if isinstance(doc.get("usage"), dict) and not _keep_usage_chunk(ctx, doc):
            continue
        yield chunk
    if not finished:
        raise BrokenStream("the stream ended before its last chunk")
    ctx.answered.backend.health.record_success()


async def _local_chunks(ctx: RequestContext) -> AsyncIterator[Chunk]:
    assert ctx.local is not None
    for doc in chunk_docs(ctx.local, ctx.request_id, ctx.requested_model, ctx.include_usage):
        yield Chunk(doc)


async def _finish(ctx: RequestContext, svc: Any, pipeline: Pipeline, ended: bool) -> None:
    """Close the upstream call and run the finish hooks (once); a stream that did not
    end was abandoned by the client."""
    if ctx.completed:
        return
    if not ended and ctx.error is None:
        ctx.fail(GatewayError(499, f"client disconnected after {ctx.chunks} chunk(s), "
                              "before the stream ended", code="client_disconnected"))
        log.info("request %s: client disconnected mid-stream", ctx.request_id)
    try:
        if ctx.stream_handle is not None:
            await ctx.stream_handle.aclose()
    finally:
        await pipeline.complete(ctx, svc)


def _keep_usage_chunk(ctx: RequestContext, doc: dict[str, Any]) -> bool:
    """Record usage from a chunk; False = drop it (usage-only, client did not ask)."""
    usage = doc["usage"]
    assert ctx.stream_handle is not None
    ctx.stream_handle.usage = {k: int(usage.get(k) or 0)
                               for k in ("prompt_tokens", "completion_tokens")}
    return ctx.include_usage or bool(doc.get("choices"))
