"""Finish stages, run for every request (failed ones too): ``post-checks`` (tokens,
latency, cost, energy, metrics, budget settlement) and ``log`` (one canonical row)."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from serve.context import RequestContext
from serve.jsonfast import dumps
from serve.settings import QueryPrivacy

if TYPE_CHECKING:
    from serve.gateway import Gateway


class PostChecks:
    """Measured latency and tokens; cost from the price table; energy from the profile."""

    name = "post-checks"

    async def __call__(self, ctx: RequestContext, gw: Gateway) -> None:
        ctx.latency_ms = (time.perf_counter() - ctx.t0) * 1e3
        self._tokens(ctx)
        m = gw.metrics
        model = _label_model(ctx, gw)
        backend = ctx.answered.backend.name if ctx.answered else "-"
        m.child(m.requests, model, backend, str(ctx.status)).inc()
        if ctx.error is not None:
            m.child(m.errors, model, backend, ctx.error.code or "error").inc()
        if ctx.answered is not None:
            b = ctx.answered.backend
            ctx.cost_usd = b.cost_usd(ctx.prompt_tokens, ctx.completion_tokens)
            ctx.energy_j = b.energy_j(ctx.prompt_tokens, ctx.completion_tokens)
            if ctx.result is not None:
                m.child(m.backend_latency, model, backend).observe(ctx.result.latency_ms / 1e3)
            if ctx.ttft_ms is not None:
                m.child(m.ttft, model, backend).observe(ctx.ttft_ms / 1e3)
            m.child(m.tokens, model, "prompt").inc(ctx.prompt_tokens)
            m.child(m.tokens, model, "completion").inc(ctx.completion_tokens)
            m.child(m.cost, model).inc(ctx.cost_usd)
            m.child(m.energy, model).inc(ctx.energy_j)
        if ctx.budget_day and ctx.key is not None and gw.keys is not None:
            await gw.keys.run(gw.keys.settle, ctx.key.key_id, ctx.budget_day,
                              ctx.reserved_usd, ctx.cost_usd)

    @staticmethod
    def _tokens(ctx: RequestContext) -> None:
        if ctx.answered is None:
            return
        if ctx.result is not None:
            ctx.prompt_tokens = ctx.result.prompt_tokens
            ctx.completion_tokens = ctx.result.completion_tokens
        elif ctx.stream_handle is not None:
            u = ctx.stream_handle.usage
            ctx.prompt_tokens = u.get("prompt_tokens", 0)
            ctx.completion_tokens = u.get("completion_tokens", 0)
        if ctx.prompt_tokens == 0 and ctx.completion_tokens == 0:
            # the backend reported no usage: estimate (prompt from chars, 1 token per chunk)
            ctx.prompt_tokens, ctx.completion_tokens = ctx.prompt_tokens_est, ctx.chunks
            ctx.tokens_estimated = True


def _label_model(ctx: RequestContext, gw: Gateway) -> str:
    """The ``model`` label: who answered, else the routed or requested model; a name the
    gateway does not know is "unknown" (one label value per client typo would grow the
    metrics without bound)."""
    if ctx.answered is not None:
        return ctx.answered.model
    model = ctx.routed_model or ctx.requested_model or "-"
    if ctx.routed_model or model == "-" or model in gw.pool.by_model \
            or model in gw.settings.profiles:
        return model
    return "unknown"


class Log:
    """Append one canonical logged tuple (data/schema.py) to the buffered sink.

    Requests refused for their API key (401) are logged at most
    ``log.max_unauthenticated_per_s`` per second (a token bucket): a flood of random keys
    must not flood the log. The rest are counted in ``lmroute_unauthenticated_unlogged``
    (and, like every request, in ``lmroute_requests{status="401"}``)."""

    name = "log"

    def __init__(self) -> None:
        self._tokens = 0.0
        self._last = time.monotonic()

    async def __call__(self, ctx: RequestContext, gw: Gateway) -> None:
        if ctx.status == 401 and not self._admit_unauthenticated(
                gw.settings.log.max_unauthenticated_per_s):
            gw.metrics.unauthenticated_unlogged.inc()
            return
        gw.request_log.append(build_row(ctx, gw))

    def _admit_unauthenticated(self, rate: float) -> bool:
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def build_row(ctx: RequestContext, gw: Gateway) -> dict[str, Any]:
    """The logged tuple of one request; errors and routing details go to ``meta``."""
    text = ctx.text or "<invalid request>"
    if gw.settings.log.query == QueryPrivacy.sha256:
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    answered = ctx.answered
    model = answered.model if answered else (ctx.routed_model or ctx.requested_model or "-")
    if ctx.propensity is None:
        policy = "rejected"  # refused before any routing decision (see meta.error)
    else:
        policy = gw.settings.logging_policy if ctx.profile else "explicit"
        if ctx.fallback_backend_used or (answered and answered is not ctx.chain[0]):
            policy += "/fallback"
    return {
        "request_id": ctx.request_id, "timestamp": ctx.timestamp, "query": text,
        "task": ctx.task, "model": model, "quality": None,
        "cost_usd": ctx.cost_usd, "latency_ms": ctx.latency_ms, "energy_j": ctx.energy_j,
        "prompt_tokens": ctx.prompt_tokens, "completion_tokens": ctx.completion_tokens,
        "propensity": _logged_propensity(ctx), "logging_policy": policy,
        "source": "gateway", "latency_source": "measured", "energy_source": "profile",
        "meta": dumps(_meta(ctx)).decode(),
    }


def _logged_propensity(ctx: RequestContext) -> float | None:
    """The router's propensity when the routed model answered; 1.0 for explicit models,
    the deterministic fallbacks (logging_policy '.../fallback') and requests refused
    before any decision (logging_policy 'rejected', error in meta)."""
    if ctx.propensity is None:
        return 1.0
    if ctx.answered is not None and ctx.chain and ctx.answered is not ctx.chain[0]:
        return 1.0
    return ctx.propensity


def _meta(ctx: RequestContext) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "status": ctx.status, "profile": ctx.profile, "requested_model": ctx.requested_model,
        "routed_model": ctx.routed_model or None, "routed_propensity": ctx.propensity,
        "backend": ctx.answered.backend.name if ctx.answered else None,
        "reason": ctx.reason, "decision_us": round(ctx.decision_us, 1),
        "attempts": ctx.attempts, "stream": ctx.stream, "sensitive": ctx.sensitive,
    }
    if ctx.weights is not None:
        w = ctx.weights
        meta["weights"] = [w.w_cost, w.w_latency, w.w_energy,
                           *(x if x != float("inf") else None
                             for x in (w.max_latency_ms, w.max_cost_usd))]
    if ctx.load_offset_ms > 0:
        meta["load_offset_ms"] = round(ctx.load_offset_ms, 3)
    if ctx.ttft_ms is not None:
        meta["ttft_ms"] = round(ctx.ttft_ms, 3)
    if ctx.tokens_estimated:
        meta["tokens_estimated"] = True
    if ctx.failures:
        meta["failures"] = ctx.failures[:5]
    if ctx.error is not None:
        meta["error"] = {"code": ctx.error.code, "message": ctx.error.message[:500]}
    if ctx.key is not None:
        meta["key_id"] = ctx.key.key_id
    return meta
