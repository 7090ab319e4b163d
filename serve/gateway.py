"""The gateway's state: settings, router, backends, metrics, logs, keys, the pipeline. Built
in the app's lifespan and hung on ``app.state.gateway`` (no module globals). It implements
``serve.services.CoreServices`` (and so ``Services``), which is all stages see of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from serve.backends.pool import BackendPool
from serve.errors import no_backend
from serve.logsink import FEEDBACK_SCHEMA, LogSink
from serve.metrics import GatewayMetrics
from serve.pipeline import Pipeline
from serve.request_ids import RequestIds
from serve.router_slot import RouterSlot, load_router
from serve.services import RouterLike
from serve.settings import ServeSettings
from serve.state.build import build_state

log = logging.getLogger(__name__)
T = TypeVar("T")
__all__ = ["Gateway", "RouterLike", "load_router"]


class Gateway:
    """Everything a request needs; one instance per app."""

    def __init__(self, settings: ServeSettings, router: RouterLike | None,
                 run_dir: Path, pipeline: Pipeline | None = None) -> None:
        from serve.stages.factory import build_pipeline

        self.settings = settings
        self.slot = RouterSlot(router, settings.router or "")
        self.swap_lock = asyncio.Lock()  # hot swaps (serve/admin.py), one at a time
        self.metrics = GatewayMetrics()
        # shared stores by config (serve/state/; the default: this process only)
        self.state = build_state(settings)
        self.pool = BackendPool(settings.backends, run_dir, settings.seed, self.state.health)
        replica = self.state.replica  # "" = one process: log.dir itself, as always
        log_dir = Path(settings.log.dir) / replica if replica else Path(settings.log.dir)
        self.request_log = LogSink(settings.log, log_dir / "requests", _request_schema(),
                                   self.metrics, replica)
        self.feedback_log = LogSink(settings.log, log_dir / "feedback", FEEDBACK_SCHEMA,
                                    self.metrics, replica)
        self.keys = self.state.keys
        self.rng = np.random.default_rng(settings.seed)
        self.profile_weights = {n: p.weights() for n, p in settings.profiles.items()}
        self.request_ids = RequestIds()
        self.pipeline = pipeline or build_pipeline(settings)  # the request path's stages
        self.in_flight = 0  # requests between Pipeline.run and the end of complete
        # the router's worker threads (ONNX Runtime runs one intra-op thread per call)
        self.route_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="route")
        self._warn_unserved()

    @property
    def router(self) -> RouterLike | None:
        return self.slot.router

    @property
    def router_models(self) -> list[str]:
        r = self.slot.router
        return list(r.models) if r is not None else []

    def router_slot(self) -> tuple[RouterLike | None, str]:
        return self.slot.current()

    def _warn_unserved(self) -> None:
        missing = [m for m in self.router_models if m not in self.pool.by_model]
        if missing:
            fb = self.settings.fallback_backend
            log.warning("%d of %d router models have no backend (%s); when none of the "
                        "router's models is live, requests are answered by fallback backend "
                        "%r and the headers say so", len(missing), len(self.router_models),
                        ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""), fb)

    async def start(self) -> None:
        await self.state.start()
        await self.pool.start()
        await self.request_log.start()
        await self.feedback_log.start()
        await self.pipeline.start(self)
        if self.state.router_sync is not None:  # serve the fleet's router, follow its swaps
            await self.state.router_sync.start(self.slot, self.swap_lock)

    async def close(self) -> None:
        """Close the stages, flush the logs, stop the backends; each step runs even if the
        one before failed."""
        try:
            await self.pipeline.close()
            await self.request_log.close()
            await self.feedback_log.close()
        finally:
            await self.state.close()
            await self.pool.close()
        self.route_executor.shutdown(wait=False, cancel_futures=True)
        if self.keys is not None:
            self.keys.close()

    # -- Services (what plug-in stages use) --------------------------------------------
    def embed(self, texts: list[str]) -> np.ndarray | None:
        r = self.slot.router
        fn = getattr(r, "embed", None)
        return None if fn is None else np.asarray(fn(texts), dtype=np.float32)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.route_executor, fn, *args)

    async def complete(self, model: str, messages: list[dict[str, Any]],
                       max_tokens: int = 256) -> str:
        """One non-streamed call to the first live backend serving ``model``."""
        live = self.pool.live_for(model, edge_only=False)
        if not live:
            raise no_backend(f"No live backend serves model {model!r}.")
        res = await live[0].complete({"messages": messages, "max_tokens": max_tokens})
        live[0].health.record_success()
        choice = (res.doc.get("choices") or [{}])[0]
        content = (choice.get("message") or {}).get("content")
        return content if isinstance(content, str) else ""

    def served_models(self) -> list[str]:
        """Names a client may put in ``model``: the profiles, then concrete models."""
        return [*self.settings.profiles, *self.pool.models]

    def ready(self) -> bool:
        return bool(self.pool.live_models())

    def describe_state(self) -> dict[str, object]:
        """The shared stores and the stages that keep state of their own (their
        ``describe()``), for /health/ready."""
        out = self.state.describe()
        for stage in self.pipeline.stages:
            describe = getattr(stage, "describe", None)
            if callable(describe):
                out[stage.name] = describe()
        return out


def _request_schema() -> Any:
    from data.schema import SCHEMA

    return SCHEMA
