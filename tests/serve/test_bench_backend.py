"""The benchmark's fake backend (serve/bench/fast_backend.py) and load client
(serve/bench/load.py)."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from serve.bench.fast_backend import BackendConfig, FastBackend
from serve.bench.load import LoadSpec, run_load, summarize
from serve.bench.procs import ManagedProcess, ProcessError
from serve.net import free_port


class _Thread:
    """The fake backend in a daemon thread with its own event loop."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.loop = asyncio.new_event_loop()
        self.backend = FastBackend(BackendConfig(port=0, delay_s=delay_s))
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.backend.start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)
        self.url = f"http://127.0.0.1:{self.backend.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.backend.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def backend() -> Iterator[_Thread]:
    b = _Thread()
    yield b
    b.close()


def _raw(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_openai_client_non_streaming(backend: _Thread) -> None:
    client = openai.OpenAI(base_url=f"{backend.url}/v1", api_key="x", max_retries=0)
    resp = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hi"}])
    assert resp.model == "m1"
    assert resp.choices[0].message.content == "ok"
    assert resp.usage is not None and resp.usage.completion_tokens == 2
    assert [m.id for m in client.models.list()] == ["bench-model"]


def test_openai_client_streaming_with_usage(backend: _Thread) -> None:
    client = openai.OpenAI(base_url=f"{backend.url}/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="m2",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "ok"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 10


def test_keep_alive_serves_two_requests_on_one_connection(backend: _Thread) -> None:
    body = b'{"model":"k","messages":[]}'
    req = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    last = req.replace(b"host: x", b"host: x\r\nconnection: close")
    out = _raw(backend.url, req + last)
    assert out.count(b"HTTP/1.1 200 OK") == 2


def test_chunked_request_body_and_bad_input(backend: _Thread) -> None:
    body = b'{"model":"c","messages":[]}'
    chunked = (
        b"POST /v1/chat/completions HTTP/1.1\r\ntransfer-encoding: chunked\r\n"
        b"connection: close\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    )
    assert b'"model":"c"' in _raw(backend.url, chunked)
    bad_json = (
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{{{"
    )
    assert _raw(backend.url, bad_json).startswith(b"HTTP/1.1 400")
    assert _raw(backend.url, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(backend.url, b"GET /nope HTTP/1.1\r\nconnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 404"
    )


def test_load_counts_every_request_and_all_succeed(backend: _Thread) -> None:
    before = backend.backend.n_requests
    spec = LoadSpec(f"{backend.url}/v1/chat/completions", {"model": "m", "messages": []}, 8, 120)
    r = run_load(spec, warmup=10)
    assert (r.n_ok, r.n_errors, r.n_requests) == (120, 0, 120)
    assert backend.backend.n_requests - before == 130
    assert 0 < r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
    assert r.throughput_rps > 0


def test_load_reports_http_errors(backend: _Thread) -> None:
    r = run_load(LoadSpec(f"{backend.url}/v1/nowhere", {"model": "m"}, 4, 20))
    assert (r.n_ok, r.n_errors) == (0, 20)
    assert any("HTTP 404" in e for e in r.error_samples)


def test_load_stops_at_its_deadline() -> None:
    slow = _Thread(delay_s=0.5)
    try:
        spec = LoadSpec(f"{slow.url}/v1/chat/completions", {"model": "m"}, 2, 1000, deadline_s=0.3)
        r = run_load(spec)
        assert r.wall_s < 2.0
        assert r.n_ok < 1000 and r.n_errors == 1000 - r.n_ok
        assert any("deadline" in e for e in r.error_samples)
    finally:
        slow.close()


def test_load_spec_and_summary_validation() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        LoadSpec("http://127.0.0.1:1/", {}, 0, 10)
    spec = LoadSpec("http://127.0.0.1:1/", {}, 1, 4)
    r = summarize(spec, [1_000_000, 2_000_000, 3_000_000, 4_000_000], [], 1.0)
    assert r.p50_ms == 2.5 and r.max_ms == 4.0 and r.throughput_rps == 4.0


def test_managed_process_reports_a_crash_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)"]
    proc = ManagedProcess("crasher", argv, f"http://127.0.0.1:{free_port()}/", tmp_path / "c.log")
    with pytest.raises(ProcessError, match=r"(?s)exited with code 3.*boom: bad config"):
        proc.start(10)


def test_managed_process_stops_the_backend_subprocess(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "serve.bench.fast_backend", "--port", str(port)]
    with ManagedProcess("fb", argv, f"http://127.0.0.1:{port}/health", tmp_path / "fb.log") as p:
        p.start(20)
        pid = p.proc.pid if p.proc else -1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
