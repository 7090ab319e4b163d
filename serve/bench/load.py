"""Bounded, self-stopping closed-loop HTTP load for the gateway benchmark.

``concurrency`` workers share one keep-alive connection pool (aiohttp) and take request
slots from a shared counter until ``n_requests`` have been sent; each times its own
requests end to end (body read). A deadline stops everything even if a server hangs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import aiohttp
import numpy as np

logger = logging.getLogger(__name__)

MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class LoadSpec:
    """One load run: POST ``payload`` to ``url`` ``n_requests`` times, ``concurrency`` at once
    (with ``urls``: request ``i`` to ``urls[i % len(urls)]``, a round-robin balancer)."""

    url: str
    payload: Mapping[str, Any]
    concurrency: int
    n_requests: int
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0  # per request
    deadline_s: float = 600.0  # the whole run
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency: expected >= 1, got {self.concurrency}")
        if self.n_requests < 1:
            raise ValueError(f"n_requests: expected >= 1, got {self.n_requests}")


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured. Latencies in milliseconds over the successful requests."""

    concurrency: int
    n_requests: int
    n_ok: int
    n_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    throughput_rps: float
    wall_s: float
    error_samples: list[str]
    latencies_ns: tuple[int, ...] = field(default=(), repr=False)  # raw, not in the JSON

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["latencies_ns"]
        return d


class _Run:
    """Mutable state shared by the workers of one run."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.issued = 0
        self.latencies_ns: list[int] = []
        self.errors: list[str] = []

    def take(self) -> str | None:
        """The URL of the next request slot, or None when all were sent."""
        if self.issued >= self.spec.n_requests:
            return None
        self.issued += 1
        urls = self.spec.urls
        return urls[self.issued % len(urls)] if urls else self.spec.url

    def error(self, msg: str) -> None:
        self.errors.append(msg[:300])


async def _one(session: aiohttp.ClientSession, run: _Run, url: str) -> None:
    spec = run.spec
    t0 = time.perf_counter_ns()
    try:
        async with session.post(url, json=spec.payload, headers=spec.headers) as resp:
            body = await resp.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        run.error(f"{type(exc).__name__}: {exc}")
        return
    elapsed = time.perf_counter_ns() - t0
    if resp.status != 200:
        run.error(f"HTTP {resp.status}: {body[:200]!r}")
    elif b'"choices"' not in body:
        run.error(f"HTTP 200 without choices: {body[:200]!r}")
    else:
        run.latencies_ns.append(elapsed)


async def _worker(session: aiohttp.ClientSession, run: _Run) -> None:
    while (url := run.take()) is not None:
        await _one(session, run, url)


def summarize(
    spec: LoadSpec, latencies_ns: list[int], errors: list[str], wall_s: float
) -> LoadResult:
    """Percentiles of the successful requests' latencies (ms) and the run's throughput."""
    lat = np.asarray(latencies_ns, dtype=np.float64) / 1e6  # (n_ok,) ms
    pct = np.percentile(lat, [50, 90, 99]) if lat.size else np.full(3, np.nan)
    return LoadResult(
        concurrency=spec.concurrency,
        n_requests=spec.n_requests,
        n_ok=int(lat.size),
        n_errors=len(errors) + max(0, spec.n_requests - lat.size - len(errors)),
        p50_ms=round(float(pct[0]), 3),
        p90_ms=round(float(pct[1]), 3),
        p99_ms=round(float(pct[2]), 3),
        mean_ms=round(float(lat.mean()), 3) if lat.size else float("nan"),
        max_ms=round(float(lat.max()), 3) if lat.size else float("nan"),
        throughput_rps=round(lat.size / wall_s, 1) if wall_s > 0 else 0.0,
        wall_s=round(wall_s, 3),
        error_samples=sorted(set(errors))[:MAX_ERROR_SAMPLES],
        latencies_ns=tuple(latencies_ns),
    )


def combine(results: list[LoadResult]) -> LoadResult:
    """One result from several runs of the same load (e.g. interleaved rounds): percentiles
    over all their latencies, throughput = successes / summed wall time."""
    first = results[0]
    spec = LoadSpec("-", {}, first.concurrency, sum(r.n_requests for r in results))
    lat = [x for r in results for x in r.latencies_ns]
    errors = [e for r in results for e in r.error_samples]
    out = summarize(spec, lat, errors, sum(r.wall_s for r in results))
    n_err = sum(r.n_errors for r in results)
    return replace(out, n_errors=n_err)


def _session(spec: LoadSpec) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=spec.concurrency, ttl_dns_cache=None)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=spec.timeout_s)
    )


async def drive(spec: LoadSpec, session: aiohttp.ClientSession) -> LoadResult:
    """Run the load; requests not done by ``spec.deadline_s`` count as errors."""
    run = _Run(spec)
    t0 = time.perf_counter()
    workers = [asyncio.create_task(_worker(session, run)) for _ in range(spec.concurrency)]
    done, pending = await asyncio.wait(workers, timeout=spec.deadline_s)
    for task in pending:
        task.cancel()
    if pending:
        run.error(f"deadline of {spec.deadline_s}s reached with {len(pending)} workers busy")
        await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - t0
    for task in done:
        if task.exception() is not None:
            run.error(f"worker crashed: {task.exception()!r}")
    return summarize(spec, run.latencies_ns, run.errors, wall)


def run_load(spec: LoadSpec, warmup: int = 0) -> LoadResult:
    """Blocking: ``warmup`` discarded requests on the same pool (connections open), then the run."""

    async def _both() -> LoadResult:
        async with _session(spec) as session:
            if warmup > 0:
                await drive(replace(spec, n_requests=warmup), session)
            return await drive(spec, session)

    return asyncio.run(_both())
