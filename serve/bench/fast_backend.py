"""A fast fake OpenAI-compatible backend for the gateway benchmark.

A raw asyncio HTTP/1.1 server with keep-alive: no framework, so its own cost per request
is a few tens of microseconds and the benchmark measures the gateway, not the backend.
It speaks just enough of the protocol for a proxy to believe it:

- ``POST /v1/chat/completions``: a fixed tiny ``chat.completion`` (the request's ``model``
  echoed back); with ``"stream": true`` the same text as SSE chunks (chunked encoding,
  ``usage`` in a last chunk when ``stream_options.include_usage`` is set), then ``[DONE]``.
- ``GET /v1/models``, ``GET /health``.

An optional fixed delay (``--delay-ms``) stands in for model time. It stands in for the
protocol only: it is not a model and never used outside the benchmark and tests.

Run it: ``python -m serve.bench.fast_backend --port 9100 [--delay-ms 0]``; it prints
``READY <port>`` on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)

REPLY_TEXT = "ok"
REPLY_TOKENS = ("o", "k")
MAX_HEADER_BYTES = 16_384
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class BackendConfig:
    """How the fake backend answers: ``delay_s`` before each answer, ``model`` in /v1/models."""

    host: str = "127.0.0.1"
    port: int = 9100
    delay_s: float = 0.0
    model: str = "bench-model"


@dataclass
class Request:
    """One parsed HTTP/1.1 request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


class BadRequest(Exception):
    """Malformed HTTP; answered with 400 and the connection closed."""


def _response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n"


def completion_body(model: str, prompt_tokens: int = 8) -> bytes:
    """The fixed non-streaming ``chat.completion`` JSON."""
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY_TEXT},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(REPLY_TOKENS),
            "total_tokens": prompt_tokens + len(REPLY_TOKENS),
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def stream_events(model: str, include_usage: bool, prompt_tokens: int = 8) -> list[bytes]:
    """The SSE events (``data: ...\\n\\n``) of a streamed answer, ``[DONE]`` last."""
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0}
    base["model"] = model
    events = []
    for i, tok in enumerate(REPLY_TOKENS):
        delta = {"role": "assistant", "content": tok} if i == 0 else {"content": tok}
        last = i == len(REPLY_TOKENS) - 1
        choice = {"index": 0, "delta": delta, "finish_reason": "stop" if last else None}
        events.append({**base, "choices": [choice]})
    if include_usage:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(REPLY_TOKENS),
            "total_tokens": prompt_tokens + len(REPLY_TOKENS),
        }
        events.append({**base, "choices": [], "usage": usage})
    out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return [*out, b"data: [DONE]\n\n"]


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_BODY_BYTES:
        raise BadRequest(f"content-length {length} out of range")
    return await reader.readexactly(length) if length else b""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Parse one request; None on a cleanly closed connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed inside the request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, path, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest(f"bad request line {lines[0]!r}") from exc
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    try:
        body = await _read_body(reader, headers)
    except ValueError as exc:
        raise BadRequest(f"bad body framing: {exc}") from exc
    return Request(method, path.split("?", 1)[0], headers, body)


class FastBackend:
    """The server; ``await start()``, then ``port``; ``await stop()``."""

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.port = config.port
        self.n_requests = 0
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_conn,
            self.config.host,
            self.config.port,
            limit=MAX_HEADER_BYTES,
            backlog=4096,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("fast backend on %s:%d", self.config.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):  # idle keep-alive connections
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            while True:
                try:
                    req = await read_request(reader)
                except BadRequest as exc:
                    writer.write(_response(400, json.dumps({"error": str(exc)}).encode()))
                    await writer.drain()
                    return
                if req is None:
                    return
                self.n_requests += 1
                await self._answer(req, writer)
                if not req.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if task is not None:
                self._conns.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, req: Request, writer: asyncio.StreamWriter) -> None:
        if req.method == "GET" and req.path in ("/health", "/health/live", "/v1/health"):
            writer.write(_response(200, b'{"status":"ok"}'))
        elif req.method == "GET" and req.path in ("/v1/models", "/models"):
            models = {"object": "list", "data": [{"id": self.config.model, "object": "model"}]}
            writer.write(_response(200, json.dumps(models).encode()))
        elif req.method == "POST" and req.path in ("/v1/chat/completions", "/chat/completions"):
            await self._chat(req, writer)
        else:
            writer.write(_response(404, b'{"error":{"message":"not found"}}'))
        await writer.drain()

    async def _chat(self, req: Request, writer: asyncio.StreamWriter) -> None:
        try:
            payload = json.loads(req.body or b"{}")
            model = str(payload.get("model", self.config.model))
        except (ValueError, AttributeError):
            writer.write(_response(400, b'{"error":{"message":"invalid JSON body"}}'))
            return
        if self.config.delay_s > 0:
            await asyncio.sleep(self.config.delay_s)
        if not payload.get("stream"):
            writer.write(_response(200, completion_body(model)))
            return
        usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for event in stream_events(model, usage):
            writer.write(_chunk(event))
        writer.write(b"0\r\n\r\n")


async def _run(config: BackendConfig) -> None:
    backend = FastBackend(config)
    await backend.start()
    sys.stdout.write(f"READY {backend.port}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await backend.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serve.bench.fast_backend", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 = any free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="fixed delay per answer")
    parser.add_argument("--model", default="bench-model", help="the id /v1/models lists")
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error(f"--delay-ms must be >= 0, got {args.delay_ms}")
    logging.basicConfig(level=logging.WARNING)
    config = BackendConfig(args.host, args.port, args.delay_ms / 1000.0, args.model)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
