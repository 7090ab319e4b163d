"""The gateway's state: settings, router, backends, metrics, logs, keys. Built in the
app's lifespan and hung on ``app.state.gateway`` (no module globals)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from router_model.decision import Decision
from router_model.reward import RewardWeights
from serve.backends.pool import BackendPool
from serve.keys import KeyStore
from serve.logsink import FEEDBACK_SCHEMA, LogSink
from serve.metrics import GatewayMetrics
from serve.pipeline import Pipeline
from serve.request_ids import RequestIds
from serve.settings import ServeSettings
from serve.stages import default_pipeline

log = logging.getLogger(__name__)


class RouterLike(Protocol):
    """What the gateway needs of ``router_model.runtime.Router``."""

    models: list[str]
    manifest: dict[str, Any]

    def route(self, text: str, weights: RewardWeights | None = None,
              allowed: Any = None, epsilon: float = 0.0,
              rng: np.random.Generator | None = None, *,
              latency_offset_ms: Sequence[float] | None = None) -> Decision: ...


def load_router(path: str | None) -> RouterLike | None:
    """Load the router artifact; None (logged) when no path is configured or it is absent."""
    if not path:
        log.warning("no router configured: lmroute/* requests go to the fallback backend")
        return None
    if not Path(path).is_dir():
        log.warning("router artifact %s not found: lmroute/* requests go to the fallback "
                    "backend (train one with `lmroute train`, or set router=DIR)", path)
        return None
    from router_model.runtime import Router  # lazy: onnxruntime + tokenizers

    router: RouterLike = Router.load(path)
    log.info("router loaded from %s: %d models", path, len(router.models))
    return router


class Gateway:
    """Everything a request needs; one instance per app."""

    def __init__(self, settings: ServeSettings, router: RouterLike | None,
                 run_dir: Path, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.router = router
        self.metrics = GatewayMetrics()
        self.pool = BackendPool(settings.backends, run_dir, settings.seed)
        log_dir = Path(settings.log.dir)
        self.request_log = LogSink(settings.log, log_dir / "requests", _request_schema(),
                                   self.metrics)
        self.feedback_log = LogSink(settings.log, log_dir / "feedback", FEEDBACK_SCHEMA,
                                    self.metrics)
        self.keys = (KeyStore(settings.auth.db_path, settings.auth.cache_ttl_s)
                     if settings.auth.enabled else None)
        self.rng = np.random.default_rng(settings.seed)
        self.profile_weights = {n: p.weights() for n, p in settings.profiles.items()}
        self.router_models: list[str] = list(router.models) if router is not None else []
        self.request_ids = RequestIds()
        self.pipeline = pipeline or default_pipeline()  # the request path's stages
        self.in_flight = 0  # requests between Pipeline.run and the end of complete
        # the router's worker threads (ONNX Runtime runs one intra-op thread per call)
        self.route_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="route")
        self._warn_unserved()

    def _warn_unserved(self) -> None:
        missing = [m for m in self.router_models if m not in self.pool.by_model]
        if missing:
            fb = self.settings.fallback_backend
            log.warning("%d of %d router models have no backend (%s); when none of the "
                        "router's models is live, requests are answered by fallback backend "
                        "%r and the headers say so", len(missing), len(self.router_models),
                        ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""), fb)

    async def start(self) -> None:
        await self.pool.start()
        await self.request_log.start()
        await self.feedback_log.start()

    async def close(self) -> None:
        """Flush the logs, stop the backends; each step runs even if the one before failed."""
        try:
            await self.request_log.close()
            await self.feedback_log.close()
        finally:
            await self.pool.close()
        self.route_executor.shutdown(wait=False, cancel_futures=True)
        if self.keys is not None:
            self.keys.close()

    def served_models(self) -> list[str]:
        """Names a client may put in ``model``: the profiles, then concrete models."""
        return [*self.settings.profiles, *self.pool.models]

    def ready(self) -> bool:
        return bool(self.pool.live_models())


def _request_schema() -> Any:
    from data.schema import SCHEMA

    return SCHEMA
