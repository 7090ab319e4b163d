"""How the LLM summarizer reaches a model: any ``ChatClient`` (in the gateway, a call
through the gateway's own backends); offline, ``HttpChatClient`` against an
OpenAI-compatible server, and ``EmbeddedServer``, which starts the gateway's embedded
llama.cpp server (serve/backends/llamacpp.py) for a GGUF, by default SmolLM2."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from serve.memory.errors import InvalidInput

log = logging.getLogger(__name__)
SMOLLM2_ALIAS = "smollm2-135m-instruct"


class ChatClient(Protocol):
    def complete(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> str: ...


@dataclass
class CallStats:
    """What the calls cost: counts, tokens and wall seconds."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    per_call_s: list[float] = field(default_factory=list)


class HttpChatClient:
    """``POST {base_url}/chat/completions`` (greedy decoding), counting usage."""

    def __init__(self, base_url: str, api_key: str | None = None,
                 timeout_s: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers)
        self.stats = CallStats()
        self._lock = threading.Lock()

    def complete(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> str:
        body = {"model": model, "messages": messages, "max_tokens": max_tokens,
                "temperature": 0.0, "seed": 0}
        t0 = time.perf_counter()
        r = self._http.post(f"{self.base_url}/chat/completions", json=body)
        if r.status_code != 200:
            raise RuntimeError(f"summarizer backend {self.base_url}: HTTP {r.status_code}: "
                               f"{r.text[:200]}")
        doc = r.json()
        dt = time.perf_counter() - t0
        usage = doc.get("usage") or {}
        with self._lock:
            s = self.stats
            s.calls += 1
            s.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            s.completion_tokens += int(usage.get("completion_tokens") or 0)
            s.seconds += dt
            s.per_call_s.append(dt)
        return str(doc["choices"][0]["message"].get("content") or "")

    def close(self) -> None:
        self._http.close()


class EmbeddedServer:
    """The gateway's llama.cpp server for one GGUF, started and stopped from sync code."""

    def __init__(self, gguf: str = "smollm2", model: str = SMOLLM2_ALIAS, n_threads: int = 2,
                 n_ctx: int = 2048, log_dir: str | Path = "runs/memory",
                 start_timeout_s: float = 180.0) -> None:
        from serve.backends.llamacpp import LlamaCppServer
        from serve.memory.models import resolve_gguf
        from serve.settings import BackendKind, BackendSettings

        settings = BackendSettings(name=model, kind=BackendKind.llamacpp, model=model,
                                   gguf=str(resolve_gguf(gguf)), n_threads=n_threads,
                                   n_ctx=n_ctx, start_timeout_s=start_timeout_s)
        self.model = model
        self._server = LlamaCppServer(settings, Path(log_dir))

    def start(self) -> str:
        """Start it and return its base URL (``.../v1``).

        The server inherits ``OMP_WAIT_POLICY=PASSIVE`` (unless set): llama.cpp's OpenMP
        threads otherwise spin at every per-layer barrier, and on a shared 2-core machine
        two spinning threads generated 0.45 tokens/s against 18.6 passive (docs/memory.md).
        """
        from serve.backends.llamacpp import EdgeStartError

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            return asyncio.run(self._server.start())
        except EdgeStartError as exc:
            raise InvalidInput(f"summarizer=llm: {exc}") from exc

    def stop(self) -> None:
        asyncio.run(self._server.stop())
