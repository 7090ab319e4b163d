"""Stages ``route`` (learned choice under the mask, fallback chain by router utility)
and ``budget`` (atomic reservation of the estimated cost against the key's daily budget).
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from router_model.decision import Decision
from serve.context import RequestContext, Route
from serve.errors import GatewayError, budget_exceeded, no_backend
from serve.keys import utc_day
from serve.pipeline import Stage
from serve.services import CoreServices
from serve.stages.admit import key_allows

if TYPE_CHECKING:
    from serve.backends.openai_http import OpenAIHTTPBackend


class RouteStage(Stage[CoreServices]):
    """Pick the model: explicit name, the router over the allowed mask, or the fallback.
    The router is the one the request was admitted with (``ctx.router``)."""

    name = "route"

    async def before(self, ctx: RequestContext, gw: CoreServices) -> None:
        t = time.perf_counter()
        if ctx.profile is None:
            self._explicit(ctx, gw)
        elif ctx.allowed and ctx.router is not None:
            ctx.decision = await self._decide(ctx, gw, ctx.allowed, ctx.epsilon)
            if ctx.decision.model not in ctx.allowed:  # the rules are hard: never serve it
                raise GatewayError(500, f"router chose {ctx.decision.model!r}, which the rules "
                                   "exclude for this request", type_="server_error",
                                   code="router_error")
            ctx.routed_model, ctx.propensity = ctx.decision.model, ctx.decision.propensity
            ctx.reason = ctx.decision.reason
            ctx.chain = self._chain(ctx, gw, ctx.decision)
        else:
            await self._fallback(ctx, gw)
        ctx.decision_us = (time.perf_counter() - t) * 1e6
        m = gw.metrics
        m.child(m.decision, ctx.profile or "explicit").observe(ctx.decision_us / 1e6)

    async def _decide(self, ctx: RequestContext, gw: CoreServices, allowed: list[str],
                      epsilon: float) -> Decision:
        """The router's decision: in the worker thread when other requests are in flight
        (the event loop keeps serving them while ONNX Runtime runs without the GIL), inline
        when this is the only one (the thread hop would be pure overhead: measured ~0.2 ms
        per hop idle, more on a loaded box; docs/benchmarks.md). Live vLLM load enters as
        ``latency_offset_ms`` (``BackendPool.latency_offsets``); the chosen model's offset
        goes to ``ctx.load_offset_ms``."""
        router = ctx.router
        assert router is not None
        # vLLM load as extra expected latency per router model (None: none loaded, fast path)
        offsets = gw.pool.latency_offsets(list(router.models), edge_only=ctx.sensitive)
        kw = {} if offsets is None else {"latency_offset_ms": offsets}
        if not gw.settings.route_in_thread or gw.in_flight < gw.settings.route_thread_min_in_flight:
            ctx.routed_in_thread = False
            d = router.route(ctx.text, ctx.weights, allowed, epsilon, gw.rng, **kw)
        else:
            ctx.routed_in_thread = True
            rng = np.random.default_rng(int(gw.rng.integers(2**63)))  # Generators aren't shared
            call = partial(router.route, ctx.text, ctx.weights, allowed, epsilon, rng, **kw)
            d = await asyncio.get_running_loop().run_in_executor(gw.route_executor, call)
        ctx.load_offset_ms = offsets[d.index] if offsets is not None else 0.0
        return d

    def _explicit(self, ctx: RequestContext, gw: CoreServices) -> None:
        model = ctx.requested_model
        ctx.routed_model, ctx.propensity, ctx.reason = model, 1.0, "explicit model"
        ctx.chain = [Route(model, b) for b in gw.pool.live_for(model, edge_only=ctx.sensitive)
                     if b.settings.context_tokens >= ctx.prompt_tokens_est]
        if not ctx.chain:
            why = "edge-only (sensitive) " if ctx.sensitive else ""
            raise no_backend(f"No {why}backend can serve model {model!r} now (unavailable, "
                             "cooling down, or its context is too short).",
                             gw.pool.cooldown_left_s())

    def _chain(self, ctx: RequestContext, gw: CoreServices, d: Decision) -> list[Route]:
        """The routed model, then the next best allowed models by utility."""
        others = sorted((m for m in ctx.allowed if m != d.model),
                        key=lambda m: -d.utility.get(m, -1e30))
        chain: list[Route] = []
        for model in [d.model, *others][: 1 + gw.settings.max_fallbacks]:
            live = gw.pool.by_load(gw.pool.live_for(model, edge_only=ctx.sensitive))
            chain += [Route(model, b) for b in live
                      if b.settings.context_tokens >= ctx.prompt_tokens_est]
        return chain

    async def _fallback(self, ctx: RequestContext, gw: CoreServices) -> None:
        """No router model has a live backend: the fallback backend answers (if allowed)."""
        name = gw.settings.fallback_backend
        b = gw.pool.backends[name] if name else None
        ok = (b is not None and gw.pool.is_live(b) and (b.settings.edge or not ctx.sensitive)
              and b.settings.context_tokens >= ctx.prompt_tokens_est
              and (ctx.key is None or ctx.key.allows_any(b.settings.serves)))
        router_models = list(ctx.router.models) if ctx.router is not None else []
        if not ok or b is None:
            n = len(router_models)
            raise no_backend(
                f"No backend can serve this request: {len(ctx.allowed)} of {n} router models "
                f"pass the rules (live backend{', edge-only' if ctx.sensitive else ''}, context, "
                f"key) and the fallback backend {name!r} is "
                f"{'not configured' if b is None else 'not usable: ' + _why(b, ctx, gw)}.",
                gw.pool.cooldown_left_s())
        served = b.settings.serves[0] if b.settings.serves else b.settings.model
        routable = [m for m in router_models if key_allows(ctx.key, m)]
        if ctx.router is not None and routable:
            ctx.decision = await self._decide(ctx, gw, routable, 0.0)
            ctx.routed_model = ctx.decision.model
            ctx.reason = (f"fallback: routed model {ctx.decision.model} has no live backend; "
                          f"answered by {served} on backend {b.name}")
        else:
            ctx.routed_model = served
            ctx.reason = f"fallback: no router loaded; answered by {served} on backend {b.name}"
        ctx.propensity = 1.0  # the fallback is deterministic given the mask
        ctx.fallback_backend_used = True
        ctx.chain = [Route(served, b)]


def _why(b: OpenAIHTTPBackend, ctx: RequestContext, gw: CoreServices) -> str:
    h = b.health
    if not h.available:
        return h.unavailable_reason
    if not h.is_live():
        return f"cooling down for {h.cooldown_left_s():.0f} s"
    if gw.pool.saturated(b):
        return "saturated (vLLM queue or KV cache past its limits)"
    if ctx.sensitive and not b.settings.edge:
        return "not an edge backend (sensitive request)"
    if b.settings.context_tokens < ctx.prompt_tokens_est:
        return f"context {b.settings.context_tokens} tokens < input ~{ctx.prompt_tokens_est}"
    return "not allowed for this API key"


# chat-template tokens per message (role markers, turn ends) and per request (BOS, the
# assistant's opening turn): ChatML, Llama 3 and Gemma templates add ~5 per message
TEMPLATE_TOKENS = 8


def prompt_tokens_bound(ctx: RequestContext) -> int:
    """An upper bound on the prompt tokens any byte-level BPE or SentencePiece tokenizer
    bills for this request: every token covers at least one UTF-8 byte of the request
    body (which holds the messages, tool definitions and tool calls, JSON escaping only
    adds bytes; ``ctx.prompt_bytes`` counts messages a stage added), plus TEMPLATE_TOKENS
    per message and per request. (Not a bound for
    images given by URL, or for a server whose template injects a long default system
    prompt.)"""
    return ctx.prompt_bytes + TEMPLATE_TOKENS * (len(ctx.body["messages"]) + 1)


class Budget(Stage[CoreServices]):
    """Reserve the worst-case cost of the chain against the key's daily budget (atomic).

    Worst case = the prompt-token upper bound and ``max_tokens`` at the most expensive
    backend of the chain. A budgeted request without ``max_tokens`` is sent with
    ``max_tokens = default_max_tokens``: an unbounded completion cannot be reserved."""

    name = "budget"

    async def before(self, ctx: RequestContext, gw: CoreServices) -> None:
        key = ctx.key
        if key is None or key.daily_budget_usd is None or gw.keys is None:
            return
        if ctx.max_tokens is None:
            ctx.max_tokens = ctx.body["max_tokens"] = gw.settings.default_max_tokens
        out = ctx.max_tokens
        est = max(r.backend.cost_usd(prompt_tokens_bound(ctx), out) for r in ctx.chain)
        day = utc_day()
        if not await gw.keys.run(gw.keys.reserve, key, est, day):
            raise budget_exceeded(f"Daily budget of ${key.daily_budget_usd:g} for key "
                                  f"{key.name!r} would be exceeded (this request may cost up "
                                  f"to ${est:.6g}).")
        ctx.reserved_usd, ctx.budget_day = est, day
