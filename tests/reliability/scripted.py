"""Scripted TCP backends for the chaos suite: real sockets on 127.0.0.1 that misbehave
below HTTP (the HTTP-level faults are ``tests.serve.fakes.ModelBehaviour.fault``).

Modes:
- ``blackhole``: accept, read the request, never answer (the connection stays open);
- ``garbage``: answer bytes that are not HTTP, then close;
- ``truncated``: ``HTTP/1.1 200`` with a JSON content-length of 400 bytes, send 20, close;
- ``reset``: accept and reset the connection (RST) before any byte;
- ``not_completion``: a well-formed ``200 application/json`` that is not a chat completion
  (``{"unexpected": true}``), to a plain or a streamed request alike.
A port nobody listens on (``down_port``) is the backend that is down.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from serve.net import free_port


def down_port() -> int:
    """A port with no listener (connection refused)."""
    return free_port()


class RawServer:
    """One misbehaving TCP server in a daemon thread; ``accepted`` counts connections."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.sock.close()
        for c in self._held:
            with contextlib.suppress(OSError):
                c.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        if self.mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(65536)
        if self.mode == "blackhole":
            self._held.append(conn)  # never answered, never closed (until the test ends)
            return
        with contextlib.suppress(OSError):
            if self.mode == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage \x01\x02\r\n\r\n")
            elif self.mode == "not_completion":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: 20\r\nconnection: close\r\n\r\n"
                             b'{"unexpected": true}')
            elif self.mode == "truncated":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: 400\r\n\r\n{\"id\": \"x\", \"choic")
            conn.close()
