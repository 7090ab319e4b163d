"""vLLM's Prometheus ``/metrics`` as a live load signal for routing.

``parse_vllm_metrics(text)`` reads the exposition text a vLLM server returns and sums
the load gauges over its engines; ``LoadPoller`` polls one server in the background and
keeps the latest reading (``None`` once it is older than ``stale_after_s``, so a dead
poller never pins a stale "idle" reading). ``VllmLoad.saturated()`` and ``penalty()`` are
what the router's pre-checks use: a hard mask when the server is past its limits, a soft
penalty in [0, 1] otherwise.

Gauges read (vLLM V1 names; the older ``vllm:gpu_cache_usage_perc`` is accepted too):
``vllm:num_requests_running``, ``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc``
(a fraction in [0, 1], despite its name).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

logger = logging.getLogger(__name__)

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")


class MetricsParseError(ValueError):
    """The text is not Prometheus exposition format, or has no vLLM load gauges."""


@dataclass(frozen=True)
class VllmLoad:
    """One reading: requests running and waiting (summed over engines), KV-cache use (max)."""

    num_requests_waiting: float
    kv_cache_usage_perc: float  # fraction in [0, 1]
    num_requests_running: float
    model_names: tuple[str, ...] = ()
    at: float = 0.0  # time.monotonic() of the reading

    def saturated(self, max_waiting: float = 8.0, max_kv_usage: float = 0.95) -> bool:
        """True when new requests would queue: mask the backend out of this decision."""
        return self.num_requests_waiting > max_waiting or self.kv_cache_usage_perc > max_kv_usage

    def penalty(self, max_waiting: float = 8.0) -> float:
        """Soft load in [0, 1]: the larger of the queue fill and the KV-cache fill."""
        queue = min(1.0, self.num_requests_waiting / max_waiting) if max_waiting > 0 else 1.0
        return max(queue, min(1.0, max(0.0, self.kv_cache_usage_perc)))


def _relevant(text: str) -> str:
    """Only the gauges' lines: a vLLM /metrics body is ~50 KB of histograms, and parsing
    all of it would block the gateway's event loop for tens of ms per poll."""
    names = (RUNNING, WAITING, *KV_USAGE)
    prefixes = tuple(f"{n}{{" for n in names) + tuple(f"{n} " for n in names)
    meta = tuple(f"# {kind} {n} " for kind in ("HELP", "TYPE") for n in names)
    lines = [ln for ln in text.splitlines() if ln.startswith(prefixes) or ln.startswith(meta)]
    return "\n".join(lines) + "\n"


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    wanted = {RUNNING, WAITING, *KV_USAGE}
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    try:
        for family in text_string_to_metric_families(_relevant(text)):
            for s in family.samples:
                if s.name in wanted:
                    found.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsParseError(f"not Prometheus text format: {exc}") from exc
    return found


def parse_vllm_metrics(text: str, model_name: str | None = None) -> VllmLoad:
    """Parse a vLLM ``/metrics`` body; only series of ``model_name`` when given.

    Raises ``MetricsParseError`` naming the missing gauge when the text has none of them.
    """
    found = _samples(text)
    if model_name is not None:
        found = {k: [(lb, v) for lb, v in ss if lb.get("model_name") == model_name]
                 for k, ss in found.items()}  # fmt: skip
    missing = [g for g in (RUNNING, WAITING) if not found.get(g)]
    kv_name = next((g for g in KV_USAGE if found.get(g)), None)
    if missing or kv_name is None:
        who = f" for model_name={model_name!r}" if model_name else ""
        absent = missing + ([] if kv_name else [KV_USAGE[0]])
        raise MetricsParseError(f"vLLM metrics{who}: missing gauge(s) {', '.join(absent)}")
    values = [v for _, v in found[RUNNING] + found[WAITING] + found[kv_name]]
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise MetricsParseError(f"vLLM metrics: negative or non-finite gauge value in {values}")
    names = {lb["model_name"] for g in found.values() for lb, _ in g if "model_name" in lb}
    return VllmLoad(
        num_requests_waiting=sum(v for _, v in found[WAITING]),
        kv_cache_usage_perc=max(v for _, v in found[kv_name]),
        num_requests_running=sum(v for _, v in found[RUNNING]),
        model_names=tuple(sorted(names)),
        at=time.monotonic(),
    )


class LoadPoller:
    """Poll ``metrics_url`` every ``interval_s`` in the background; ``latest`` is the reading.

    Usage (in the gateway's lifespan)::

        poller = LoadPoller("http://127.0.0.1:8000/metrics")
        await poller.start()
        ...  # per request: load = poller.latest  (None = unknown: do not mask)
        await poller.stop()
    """

    def __init__(
        self,
        metrics_url: str,
        interval_s: float = 0.5,
        timeout_s: float = 1.0,
        stale_after_s: float = 5.0,
        model_name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if interval_s <= 0 or timeout_s <= 0 or stale_after_s <= interval_s:
            raise ValueError("LoadPoller: expected interval_s > 0, timeout_s > 0 and "
                             f"stale_after_s > interval_s, got {interval_s}, {timeout_s}, "
                             f"{stale_after_s}")  # fmt: skip
        self.metrics_url = metrics_url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self.model_name = model_name
        self._transport = transport  # tests inject an httpx.MockTransport
        self.n_polls = 0
        self.n_errors = 0
        self.last_error: str | None = None
        self._latest: VllmLoad | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def latest(self) -> VllmLoad | None:
        """The newest reading, or None when there is none younger than ``stale_after_s``."""
        load = self._latest
        if load is None or time.monotonic() - load.at > self.stale_after_s:
            return None
        return load

    async def poll_once(self) -> VllmLoad | None:
        """One poll; errors are counted and logged (first one as a warning), never raised."""
        assert self._client is not None, "call start() first"
        self.n_polls += 1
        try:
            resp = await self._client.get(self.metrics_url)
            resp.raise_for_status()
            self._latest = parse_vllm_metrics(resp.text, self.model_name)
            self.last_error = None
        except (httpx.HTTPError, MetricsParseError) as exc:
            self.n_errors += 1
            level = logging.WARNING if self.last_error is None else logging.DEBUG
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.log(level, "load poll of %s failed: %s", self.metrics_url, self.last_error)
        return self.latest

    async def _loop(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self.interval_s)

    async def start(self) -> LoadPoller:
        if self._task is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, trust_env=False, transport=self._transport
            )
            self._task = asyncio.create_task(self._loop(), name=f"load-poller:{self.metrics_url}")
        return self

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
