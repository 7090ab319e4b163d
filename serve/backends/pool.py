"""All backends of one gateway: one pooled HTTP client (aiohttp), the model -> backends map,
startup availability (API keys, embedded servers) and liveness queries."""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path

import aiohttp

from serve.backends.llamacpp import EdgeStartError, LlamaCppServer
from serve.backends.openai_http import OpenAIHTTPBackend
from serve.settings import BackendKind, BackendSettings

log = logging.getLogger(__name__)


class BackendPool:
    """Backends by name and by the model names they serve (config order kept)."""

    def __init__(self, backends: dict[str, BackendSettings], run_dir: Path,
                 seed: int | None = None) -> None:
        # created inside the lifespan (a running event loop); keep-alive pool, no per-host cap
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=2000, limit_per_host=0, keepalive_timeout=30.0,
                                           ttl_dns_cache=300),
            auto_decompress=True, raise_for_status=False)
        rng = random.Random(seed)
        self.backends: dict[str, OpenAIHTTPBackend] = {}
        self.edge_servers: dict[str, LlamaCppServer] = {}
        self.by_model: dict[str, list[OpenAIHTTPBackend]] = {}
        for name, s in backends.items():
            b = OpenAIHTTPBackend(s, self.client, _api_key(s), rng)
            self.backends[name] = b
            if s.kind == BackendKind.llamacpp:
                self.edge_servers[name] = LlamaCppServer(s, run_dir)
            for model in s.serves:
                self.by_model.setdefault(model, []).append(b)
        # static per model: the largest context among its backends (asked per request)
        self._max_context = {m: max(b.settings.context_tokens for b in bs)
                             for m, bs in self.by_model.items()}
        for name, s in backends.items():
            if s.api_key_env and not os.environ.get(s.api_key_env):
                msg = f"env var {s.api_key_env} is not set"
                self.backends[name].health.mark_unavailable(msg)
                log.warning("backend %r UNAVAILABLE: %s (it serves %s)", name, msg, s.serves)

    async def start(self) -> None:
        """Start embedded servers; one that fails is marked unavailable (logged)."""
        for name, server in self.edge_servers.items():
            backend = self.backends[name]
            try:
                backend.base_url = await server.start()
            except EdgeStartError as exc:
                backend.health.mark_unavailable(str(exc))
                log.error("backend %r UNAVAILABLE: %s", name, exc)

    async def close(self) -> None:
        for server in self.edge_servers.values():
            await server.stop()
        await self.client.close()

    @property
    def models(self) -> list[str]:
        """Every model name some backend serves (live or not)."""
        return list(self.by_model)

    def live_for(self, model: str, now: float | None = None,
                 edge_only: bool = False) -> list[OpenAIHTTPBackend]:
        now = time.monotonic() if now is None else now
        return [b for b in self.by_model.get(model, ())
                if b.health.is_live(now) and (b.settings.edge or not edge_only)]

    def live_models(self, now: float | None = None, edge_only: bool = False) -> set[str]:
        """Models with at least one live backend (edge ones only when ``edge_only``)."""
        now = time.monotonic() if now is None else now
        live = [b for b in self.backends.values()
                if b.health.is_live(now) and (b.settings.edge or not edge_only)]
        return {m for b in live for m in b.settings.serves}

    def max_context(self, model: str) -> int:
        """The largest context (tokens) among the backends serving ``model`` (0 = none)."""
        return self._max_context.get(model, 0)

    def cooldown_left_s(self) -> float:
        """Shortest wait until some cooling-down backend is tried again (0 = none)."""
        left = [b.health.cooldown_left_s() for b in self.backends.values()
                if b.health.available and b.health.cooldown_left_s() > 0]
        return min(left, default=0.0)

    def describe(self) -> dict[str, object]:
        return {n: {"base_url": b.base_url, "serves": b.settings.serves, "edge": b.settings.edge,
                    **b.health.describe()} for n, b in self.backends.items()}


def _api_key(s: BackendSettings) -> str | None:
    return os.environ.get(s.api_key_env) if s.api_key_env else None
