"""serve.backends.fast_http against scripted raw HTTP servers (each test controls the
bytes on the wire: chunked, gzip, connection close, stale keep-alive, garbage, silence)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from serve.backends.fast_http import Endpoint, FastHTTPClient, HTTPFailure

BODY = b'{"ok": true}'
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


def _response(body: bytes = BODY, *extra: str) -> bytes:
    head = [f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n", *(f"{h}\r\n" for h in extra)]
    return ("".join(head) + "\r\n").encode() + body


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


class Scripted:
    """A raw server: ``handler(reader, writer, n)`` answers request n (0-based, counted
    over all connections) and returns whether to keep the connection open."""

    def __init__(self, handler: Handler) -> None:
        self.handler, self.n, self.connections = handler, 0, 0
        self.client_closed = 0  # connections the client closed (EOF while reading)
        self.requests: list[bytes] = []

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while (req := await _read_request(reader)) is not None:
            self.requests.append(req)
            self.n += 1
            if not await self.handler(reader, writer, self.n - 1):
                break
        else:
            self.client_closed += 1
        writer.close()

    async def __aenter__(self) -> Endpoint:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return Endpoint.parse(f"http://127.0.0.1:{port}/v1/chat/completions")

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


async def ok(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> bool:
    """Answer every request with BODY, keep the connection."""
    w.write(_response())
    return True


def run(coro: Awaitable[None]) -> None:
    uvloop.run(coro)  # the gateway's loop (uvloop's transports differ from asyncio's)


async def _post(client: FastHTTPClient, ep: Endpoint, timeout_s: float = 5.0) -> bytes:
    res = await client.post(ep, b"content-type: application/json\r\n", b'{"q": 1}',
                            timeout_s, 2.0)
    assert res.status == 200
    return res.body


def test_request_bytes_and_keep_alive_reuse() -> None:
    async def main() -> None:
        server = Scripted(ok)
        async with server as ep:
            client = FastHTTPClient()
            assert [await _post(client, ep) for _ in range(3)] == [BODY] * 3
            await client.close()
        assert server.connections == 1  # one keep-alive connection for all three
        head, body = server.requests[0].split(b"\r\n\r\n")
        assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert f"host: 127.0.0.1:{ep.port}".encode() in head
        assert b"content-length: 8" in head and b"content-type: application/json" in head
        assert body == b'{"q": 1}'
    run(main())


def test_chunked_gzip_and_connection_close() -> None:
    packed = gzip.compress(BODY)

    async def varied(_r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        if n == 0:  # chunked, in two chunks
            w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                    b"5\r\n" + BODY[:5] + b"\r\n" + f"{len(BODY) - 5:x}".encode() + b"\r\n"
                    + BODY[5:] + b"\r\n0\r\n\r\n")
            return True
        if n == 1:
            w.write(_response(packed, "content-encoding: gzip"))
            return True
        w.write(_response(BODY, "connection: close"))
        return False

    async def main() -> None:
        server = Scripted(varied)
        async with server as ep:
            client = FastHTTPClient()
            assert [await _post(client, ep) for _ in range(4)] == [BODY] * 4
            await client.close()
        assert server.connections == 2  # "connection: close" is honoured: a new one after
    run(main())


def test_a_stale_keep_alive_connection_is_retried_once_on_a_new_one() -> None:
    async def answer_then_close(_r: asyncio.StreamReader, w: asyncio.StreamWriter,
                                n: int) -> bool:
        if n == 1:
            return False  # read the request, close without a byte (server-side idle close)
        w.write(_response())
        return True

    async def main() -> None:
        server = Scripted(answer_then_close)
        async with server as ep:
            client = FastHTTPClient()
            assert await _post(client, ep) == BODY
            assert await _post(client, ep) == BODY  # request 1 lost, request 2 answered
            await client.close()
        assert server.n == 3 and server.connections == 2
    run(main())


def test_a_fresh_connection_that_closes_fails() -> None:
    async def close(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _n: int) -> bool:
        return False

    async def main() -> None:
        async with Scripted(close) as ep:
            with pytest.raises(HTTPFailure, match="closed before the response ended"):
                await _post(FastHTTPClient(), ep)
    run(main())


def test_garbage_fails_and_silence_times_out_without_reuse() -> None:
    async def bad(_r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        if n == 0:
            w.write(b"NOT HTTP AT ALL\r\n\r\n")
        elif n == 1:
            await asyncio.sleep(0.5)  # answers after the client gave up
            w.write(_response())
        else:
            w.write(_response(b'{"late": false}'))
        return True

    async def main() -> None:
        server = Scripted(bad)
        async with server as ep:
            client = FastHTTPClient()
            with pytest.raises(HTTPFailure, match="malformed"):
                await _post(client, ep)
            with pytest.raises(TimeoutError):
                await _post(client, ep, timeout_s=0.1)
            # the timed-out connection was closed, not pooled: its late answer is not read
            # as the answer to the next request
            assert await _post(client, ep) == b'{"late": false}'
            await asyncio.sleep(0.6)
            assert server.client_closed == 2  # the malformed and the timed-out connections
            await client.close()
        assert server.connections == 3
    run(main())


def test_idle_connections_expire_and_connect_errors_raise() -> None:
    async def main() -> None:
        server = Scripted(ok)
        async with server as ep:
            client = FastHTTPClient(idle_timeout_s=0.05)
            await _post(client, ep)
            await asyncio.sleep(0.1)
            await _post(client, ep)
            await client.close()
        assert server.connections == 2
        with pytest.raises(OSError):  # nothing listens there any more
            await _post(FastHTTPClient(), ep)
    run(main())


def test_endpoint_parse_accepts_only_http_urls() -> None:
    ep = Endpoint.parse("http://localhost:8000/v1/chat/completions?x=1")
    assert (ep.host, ep.port, ep.target) == ("localhost", 8000, "/v1/chat/completions?x=1")
    assert Endpoint.parse("http://h/v1").port == 80
    for url in ("https://api.example.com/v1", "ftp://h/x", "http:///nohost"):
        with pytest.raises(ValueError, match="expected an http"):
            Endpoint.parse(url)


def test_calls_beyond_max_connections_wait_for_a_free_connection() -> None:
    async def slow(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _n: int) -> bool:
        await asyncio.sleep(0.05)
        w.write(_response())
        return True

    async def main() -> None:
        server = Scripted(slow)
        async with server as ep:
            client = FastHTTPClient(max_connections=2)
            bodies = await asyncio.gather(*(_post(client, ep) for _ in range(6)))
            await client.close()
        assert bodies == [BODY] * 6
        assert server.connections == 2  # the other four calls reused them in turn
    run(main())
