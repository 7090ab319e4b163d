"""What stages may use of the gateway: narrow interfaces instead of the ``Gateway`` class.

``Services`` is what a plug-in stage (guardrails, memory, cache) gets; ``CoreServices``
adds what the built-in stages (admit ... log) need. ``serve.gateway.Gateway`` implements
both; a unit test of a stage passes a small object with just the attributes it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from router_model.decision import Decision
from router_model.reward import RewardWeights

if TYPE_CHECKING:
    from serve.backends.pool import BackendPool
    from serve.logsink import LogSink
    from serve.metrics import GatewayMetrics
    from serve.settings import ServeSettings
    from serve.state.keys_service import KeyService

T = TypeVar("T")


class RouterLike(Protocol):
    """What the gateway needs of ``router_model.runtime.Router``."""

    models: list[str]
    manifest: dict[str, Any]

    def route(self, text: str, weights: RewardWeights | None = None,
              allowed: Any = None, epsilon: float = 0.0,
              rng: np.random.Generator | None = None, *,
              latency_offset_ms: Sequence[float] | None = None) -> Decision: ...


class Services(Protocol):
    """A plug-in stage's view of the gateway."""

    settings: ServeSettings
    metrics: GatewayMetrics

    @property
    def router(self) -> RouterLike | None:
        """The artifact serving now (a request keeps its own in ``ctx.router``)."""

    def embed(self, texts: list[str]) -> np.ndarray | None:
        """(n, d) float32: the router graph's ``features`` output; None without a router."""

    async def complete(self, model: str, messages: list[dict[str, Any]],
                       max_tokens: int = 256) -> str:
        """One non-streamed call through the gateway's own backends for ``model`` (a model
        a backend ``serves``); the answer text. Raises ``GatewayError`` (503) when no
        backend can serve it, ``BackendError`` when the call fails."""

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (ONNX, SQLite) off the event loop, on the gateway's workers."""


class CoreServices(Services, Protocol):
    """What the built-in stages need besides."""

    pool: BackendPool
    keys: KeyService | None  # serve.keys.KeyStore, or the shared stores (serve/state/)
    request_log: LogSink
    profile_weights: dict[str, RewardWeights]
    rng: np.random.Generator
    route_executor: ThreadPoolExecutor
    in_flight: int

    def router_slot(self) -> tuple[RouterLike | None, str]:
        """(the router serving now, its artifact id), read together (a hot swap replaces
        both at once)."""
