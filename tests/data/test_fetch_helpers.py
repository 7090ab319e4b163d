"""Helpers (no tests) for the fetch tests: a real HTTP server on 127.0.0.1 (stdlib ``http.server``).

Routes: path -> ``Route(body, status, truncate_to)``; ``truncate_to`` sends the full
Content-Length header but only that many bytes, then closes the connection (a download
that breaks off). ``hits`` counts requests per path.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Route:
    body: bytes
    status: int = 200
    truncate_to: int | None = None


class FileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        handler = _make_handler(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _make_handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            server.hits[self.path] += 1
            route = server.routes.get(self.path)
            if route is None:
                route = Route(b"not found", status=404)
            self.send_response(route.status)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            sent = route.body if route.truncate_to is None else route.body[: route.truncate_to]
            self.wfile.write(sent)
            self.wfile.flush()
            if route.truncate_to is not None:
                self.close_connection = True

    return Handler


@contextmanager
def file_server() -> Iterator[FileServer]:
    srv = FileServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def entry(path: str, content: bytes, urls: list[str], **extra: Any) -> dict[str, Any]:
    """A verbatim manifest entry for ``content``."""
    return {
        "path": path,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "kind": "verbatim",
        "urls": urls,
        **extra,
    }


def write_manifest(tmp: Path, files: list[dict[str, Any]]) -> Path:
    p = tmp / "manifest.json"
    p.write_text(json.dumps({"files": files}))
    return p
