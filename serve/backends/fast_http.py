"""A minimal HTTP/1.1 keep-alive client for the gateway's hot path: non-streaming JSON
POSTs to plain-HTTP backends (a local vLLM or llama.cpp server, the benchmark's backend).

Why: aiohttp's request machinery (request/response objects, header multidicts, timer
handles) costs ~240 us of CPU per call on this project's 2-core VM; a pre-built request
written in one ``send`` and parsed by ``httptools`` (uvicorn's parser, already a
dependency) costs ~110 us. Measured interleaved against the fake backend, one call at a
time: p50 round trip 531 us (aiohttp) vs. 301 us (this). See docs/benchmarks.md.

Scope, on purpose small: ``http://`` only (hosted ``https`` APIs keep aiohttp, where the
network dwarfs this), no proxies, one request per connection at a time (no pipelining).
Bodies with Content-Length or chunked encoding (httptools decodes both), gzip/deflate
decoded. A reused keep-alive connection that the server closed before answering is
retried once on a fresh connection; idle connections are dropped after
``idle_timeout_s`` (below the 5 s keep-alive of uvicorn, vLLM and llama.cpp's server).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

log = logging.getLogger(__name__)


class HTTPFailure(ConnectionError):
    """The connection failed or closed before a complete, well-formed response."""


@dataclass(frozen=True)
class Endpoint:
    """Where a POST goes: ``host``/``port`` to connect to and the request target."""

    host: str
    port: int
    target: str  # path (+ query)
    head: bytes = b""  # request line and host header, built once by ``parse``

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """``http://host[:port]/path`` -> Endpoint; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http://host[:port]/path URL, got {url!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host, port = parts.hostname, parts.port or 80
        head = f"POST {target} HTTP/1.1\r\nhost: {host}:{port}\r\n".encode()
        return cls(host, port, target, head)


@dataclass(frozen=True)
class HTTPResult:
    """A complete response: status code and the (decoded) body."""

    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP connection; ``exchange`` sends a request and awaits its response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[HTTPResult] | None = None
        self.chunks: list[bytes] = []
        self.encoding = b""
        self.answered = False  # a byte of the current response arrived
        self.closed = False
        self.keep_alive = True
        self.idle_since = 0.0

    # -- asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, but has its API
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HTTPFailure(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HTTPFailure(f"connection closed before the response ended ({exc})"))

    # -- httptools callbacks -------------------------------------------------------
    def on_message_begin(self) -> None:
        self.chunks, self.encoding = [], b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-encoding":
            self.encoding = value.strip().lower()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        body = b"".join(self.chunks)
        if self.encoding in (b"gzip", b"deflate"):
            try:
                body = zlib.decompress(body, 47)  # 47: gzip or zlib header, auto-detected
            except zlib.error as exc:
                self._fail(HTTPFailure(f"undecodable {self.encoding.decode()} body: {exc}"))
                return
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(HTTPResult(self.parser.get_status_code(), body))

    # -- use -----------------------------------------------------------------------
    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def exchange(self, request: bytes) -> HTTPResult:
        if self.closed or self.transport is None:
            raise HTTPFailure("connection already closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.answered = False
        self.transport.write(request)
        return await self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class FastHTTPClient:
    """Pooled keep-alive connections per (host, port). Create inside a running loop."""

    def __init__(self, idle_timeout_s: float = 4.0, max_idle_per_host: int = 512,
                 max_connections: int = 2000) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False
        # calls in flight (each holds one connection): beyond it, calls wait (the timeout
        # runs); aiohttp's pool had the same total limit
        self._slots = asyncio.Semaphore(max_connections)

    async def post(self, endpoint: Endpoint, headers: bytes, body: bytes,
                   timeout_s: float, connect_timeout_s: float) -> HTTPResult:
        """POST ``body`` with extra header lines ``headers`` (each ending in CRLF).

        Raises HTTPFailure (connection / protocol), TimeoutError (``timeout_s`` for the
        whole call, ``connect_timeout_s`` for a new connection) or OSError (connect).
        """
        request = b"".join((endpoint.head, b"content-length: ", str(len(body)).encode(),
                            b"\r\n", headers, b"\r\n", body))
        async with asyncio.timeout(timeout_s), self._slots:
            conn, reused = await self._acquire(endpoint, connect_timeout_s)
            try:
                try:
                    result = await conn.exchange(request)
                except HTTPFailure:
                    if not reused or conn.answered:
                        raise
                    # the server closed an idle keep-alive connection as we sent on it
                    conn.close()
                    conn = await self._connect(endpoint, connect_timeout_s)
                    result = await conn.exchange(request)
            except BaseException:
                conn.close()  # a response may still be on its way: never reuse
                raise
            self._release(endpoint, conn)  # before the slot: a waiting call can reuse it
        return result

    async def _acquire(self, ep: Endpoint, connect_timeout_s: float
                       ) -> tuple[_Connection, bool]:
        idle = self._idle.get((ep.host, ep.port))
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_timeout_s:
                return conn, True
            conn.close()
        return await self._connect(ep, connect_timeout_s), False

    async def _connect(self, ep: Endpoint, connect_timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(connect_timeout_s):
            _, conn = await loop.create_connection(_Connection, ep.host, ep.port)
        return conn

    def _release(self, ep: Endpoint, conn: _Connection) -> None:
        idle = self._idle.setdefault((ep.host, ep.port), [])
        if self._closed or not conn.keep_alive or conn.closed \
                or len(idle) >= self.max_idle_per_host:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def close(self) -> None:
        """Close every idle connection; later calls still work but keep nothing."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
