"""Stage ``log`` (a ``finish`` hook, run for every request): one canonical logged tuple
(``data/schema.py``) per request into the buffered decision log.

``logging_policy`` follows the vocabulary in ``data/schema.py`` (the router's policy name,
``.../fallback``, ``explicit``, ``rejected``, ``local/<marker>``); ``meta`` holds the
routing details, the artifact that decided (``meta.artifact``), errors, and what stages
added (``meta.stages``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from data.schema import FALLBACK_SUFFIX, LOCAL_PREFIX, POLICY_EXPLICIT, POLICY_REJECTED
from serve.context import RequestContext
from serve.jsonfast import dumps
from serve.pipeline import Stage
from serve.services import CoreServices
from serve.settings import QueryPrivacy
from serve.state.rate_limits import RateLimit, take


class Log(Stage[CoreServices]):
    """Append one canonical logged tuple to the buffered sink.

    Requests refused for their API key (401) are logged at most
    ``log.max_unauthenticated_per_s`` per second (a token bucket): a flood of random keys
    must not flood the log. The rest are counted in ``lmroute_unauthenticated_unlogged``
    (and, like every request, in ``lmroute_requests{status="401"}``)."""

    name = "log"

    def __init__(self) -> None:
        self._tokens: float | None = None  # a full bucket until the first 401
        self._last = time.monotonic()

    async def finish(self, ctx: RequestContext, svc: CoreServices) -> None:
        if ctx.status == 401 and not self._admit_unauthenticated(
                svc.settings.log.max_unauthenticated_per_s):
            svc.metrics.unauthenticated_unlogged.inc()
            return
        svc.request_log.append(build_row(ctx, svc))

    def _admit_unauthenticated(self, rate: float) -> bool:
        if rate <= 0:
            return False
        limit = RateLimit(rate, max(1.0, rate))
        now = time.monotonic()
        tokens = limit.burst if self._tokens is None else self._tokens
        ok, self._tokens, _ = take(tokens, self._last, now, limit)
        self._last = now
        return ok


def logging_policy(ctx: RequestContext, router_policy: str) -> str:
    """The row's ``logging_policy`` (vocabulary: data/schema.py)."""
    if ctx.local is not None:
        return LOCAL_PREFIX + ctx.local.marker
    if ctx.propensity is None:
        return POLICY_REJECTED  # refused before any routing decision (see meta.error)
    policy = router_policy if ctx.profile else POLICY_EXPLICIT
    if ctx.fallback_backend_used or (ctx.answered and ctx.answered is not ctx.chain[0]):
        policy += FALLBACK_SUFFIX
    return policy


def build_row(ctx: RequestContext, svc: CoreServices) -> dict[str, Any]:
    """The logged tuple of one request; errors and routing details go to ``meta``."""
    text = ctx.text or "<invalid request>"
    if svc.settings.log.query == QueryPrivacy.sha256:
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    answered = ctx.answered
    if answered is not None:
        model = answered.model
    elif ctx.local is not None:
        model = ctx.local.model or ctx.requested_model or "-"
    else:
        model = ctx.routed_model or ctx.requested_model or "-"
    return {
        "request_id": ctx.request_id, "timestamp": ctx.timestamp, "query": text,
        "task": ctx.task, "model": model, "quality": None,
        "cost_usd": ctx.cost_usd, "latency_ms": ctx.latency_ms, "energy_j": ctx.energy_j,
        "prompt_tokens": ctx.prompt_tokens, "completion_tokens": ctx.completion_tokens,
        "propensity": _logged_propensity(ctx),
        "logging_policy": logging_policy(ctx, svc.settings.logging_policy),
        "source": "gateway", "latency_source": "measured", "energy_source": "profile",
        "meta": dumps(_meta(ctx)).decode(),
    }


def _logged_propensity(ctx: RequestContext) -> float | None:
    """The router's propensity when the routed model answered; 1.0 for explicit models,
    the deterministic fallbacks ('.../fallback') and requests refused before any decision
    ('rejected', error in meta); null for local answers (no model was chosen)."""
    if ctx.local is not None:
        return None
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
        "artifact": ctx.artifact or None,
    }
    if ctx.weights is not None:
        w = ctx.weights
        meta["weights"] = [w.w_cost, w.w_latency, w.w_energy,
                           *(x if x != float("inf") else None
                             for x in (w.max_latency_ms, w.max_cost_usd))]
    _optional(ctx, meta)
    return meta


def _optional(ctx: RequestContext, meta: dict[str, Any]) -> None:
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
    if ctx.local is not None:
        meta["local"] = {"marker": ctx.local.marker, "saved_cost_usd": ctx.local.saved_cost_usd,
                         **ctx.local.meta}
    logged = {k: v["log"] for k, v in ctx.state.items() if isinstance(v, dict) and "log" in v}
    if logged:
        meta["stages"] = logged
