"""All backends of one gateway: pooled HTTP clients (aiohttp, and fast_http for
non-streaming calls to http:// backends), the model -> backends map, startup availability
(API keys, embedded servers) and liveness queries."""

from __future__ import annotations

import logging
import math
import os
import random
import time
from pathlib import Path

import aiohttp

from serve.backends.fast_http import FastHTTPClient
from serve.backends.llamacpp import EdgeStartError, LlamaCppServer
from serve.backends.openai_http import OpenAIHTTPBackend
from serve.load_signal import LoadPoller
from serve.settings import BackendKind, BackendSettings, metrics_url
from serve.state.base import HealthStore

log = logging.getLogger(__name__)
MAX_OFFSET_MS = 1e6  # a load offset beyond ~17 min means nothing more


class BackendPool:
    """Backends by name and by the model names they serve (config order kept)."""

    def __init__(self, backends: dict[str, BackendSettings], run_dir: Path,
                 seed: int | None = None, health: HealthStore | None = None) -> None:
        """``health``: a shared health store (serve/state/); None = each backend's own."""
        # created inside the lifespan (a running event loop); keep-alive pool, no per-host cap
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=2000, limit_per_host=0, keepalive_timeout=30.0,
                                           ttl_dns_cache=300),
            auto_decompress=True, raise_for_status=False)
        self.fast_client = FastHTTPClient()  # non-streaming calls to http:// backends
        rng = random.Random(seed)
        self.backends: dict[str, OpenAIHTTPBackend] = {}
        self.edge_servers: dict[str, LlamaCppServer] = {}
        self.by_model: dict[str, list[OpenAIHTTPBackend]] = {}
        for name, s in backends.items():
            b = OpenAIHTTPBackend(s, self.client, _api_key(s), rng, self.fast_client)
            if health is not None:
                b.health = health.health_for(name, s.cooldown_after, s.cooldown_s)
            self.backends[name] = b
            if s.kind == BackendKind.llamacpp:
                self.edge_servers[name] = LlamaCppServer(s, run_dir)
            for model in s.serves:
                self.by_model.setdefault(model, []).append(b)
        # static per model: the largest context among its backends (asked per request)
        self._max_context = {m: max(b.settings.context_tokens for b in bs)
                             for m, bs in self.by_model.items()}
        # vLLM backends: live load from /metrics, polled in the background (started in start)
        self.load_pollers: dict[str, LoadPoller] = {
            name: LoadPoller(metrics_url(s), interval_s=s.load_poll_s,
                             stale_after_s=s.load_stale_s, model_name=s.model)
            for name, s in backends.items() if s.vllm_metrics}
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
        for name, poller in self.load_pollers.items():
            await poller.start()
            log.info("backend %r: polling vLLM load at %s every %.2f s", name,
                     poller.metrics_url, poller.interval_s)

    async def close(self) -> None:
        for poller in self.load_pollers.values():
            await poller.stop()
        for server in self.edge_servers.values():
            await server.stop()
        await self.client.close()
        await self.fast_client.close()

    @property
    def models(self) -> list[str]:
        """Every model name some backend serves (live or not)."""
        return list(self.by_model)

    def saturated(self, b: OpenAIHTTPBackend) -> bool:
        """True when the backend's fresh vLLM load reading is past its limits (no poller,
        no reading or a stale one: False, i.e. mask nothing)."""
        poller = self.load_pollers.get(b.name)
        load = poller.latest if poller is not None else None
        return load is not None and load.saturated(b.settings.load_max_waiting,
                                                   b.settings.load_max_kv_usage)

    def load_offset_ms(self, b: OpenAIHTTPBackend) -> float:
        """Extra expected latency (ms) from the backend's fresh vLLM load reading:
        ``penalty(load_max_waiting) * load_max_waiting * ttft_ms`` (a full queue costs
        ``load_max_waiting`` first tokens). No poller, no reading or a stale one: 0.0."""
        poller = self.load_pollers.get(b.name)
        load = poller.latest if poller is not None else None
        if load is None:
            return 0.0
        s = b.settings
        x = load.penalty(s.load_max_waiting) * s.load_max_waiting * s.ttft_ms
        return min(x, MAX_OFFSET_MS) if math.isfinite(x) and x > 0 else 0.0

    def by_load(self, backends: list[OpenAIHTTPBackend]) -> list[OpenAIHTTPBackend]:
        """``backends`` least-loaded first (stable: config order among equals), so the
        backend a model's offset came from is the one tried first."""
        if not self.load_pollers or len(backends) < 2:
            return backends
        return sorted(backends, key=self.load_offset_ms)

    def latency_offsets(self, models: list[str], edge_only: bool = False) -> list[float] | None:
        """Per model (in ``models`` order): the smallest ``load_offset_ms`` over its live
        backends (edge ones only when ``edge_only``), 0.0 with none; None when all are 0
        (the router's fast path). Runs per request: no vLLM backend = one dict check."""
        if not self.load_pollers:
            return None
        now = time.monotonic()
        out = [min((self.load_offset_ms(b) for b in self.live_for(m, now, edge_only)),
                   default=0.0) for m in models]
        return out if any(out) else None

    def is_live(self, b: OpenAIHTTPBackend, now: float | None = None) -> bool:
        """Available, not cooling down and not saturated."""
        return b.health.is_live(now) and not self.saturated(b)

    def live_for(self, model: str, now: float | None = None,
                 edge_only: bool = False) -> list[OpenAIHTTPBackend]:
        now = time.monotonic() if now is None else now
        return [b for b in self.by_model.get(model, ())
                if self.is_live(b, now) and (b.settings.edge or not edge_only)]

    def live_models(self, now: float | None = None, edge_only: bool = False) -> set[str]:
        """Models with at least one live backend (edge ones only when ``edge_only``)."""
        now = time.monotonic() if now is None else now
        live = [b for b in self.backends.values()
                if self.is_live(b, now) and (b.settings.edge or not edge_only)]
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
        out: dict[str, object] = {}
        for n, b in self.backends.items():
            d = {"base_url": b.base_url, "serves": b.settings.serves, "edge": b.settings.edge,
                 **b.health.describe()}
            poller = self.load_pollers.get(n)
            if poller is not None:
                load = poller.latest
                d["load"] = {"saturated": self.saturated(b), "polls": poller.n_polls,
                             "latency_offset_ms": self.load_offset_ms(b),
                             "errors": poller.n_errors, "last_error": poller.last_error,
                             "waiting": load.num_requests_waiting if load else None,
                             "running": load.num_requests_running if load else None,
                             "kv_cache_usage": load.kv_cache_usage_perc if load else None}
            out[n] = d
        return out


def _api_key(s: BackendSettings) -> str | None:
    return os.environ.get(s.api_key_env) if s.api_key_env else None
