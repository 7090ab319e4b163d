"""Stage ``accounting`` (a ``finish`` hook, run for every request): measured latency and
tokens, cost from the price table, energy from the profile, metrics, and the settlement
of the budget reservation."""

from __future__ import annotations

import time

from serve.context import RequestContext
from serve.pipeline import Stage
from serve.services import CoreServices


class Accounting(Stage[CoreServices]):
    """Latency, tokens, cost, energy, metrics; settles the budget reservation."""

    name = "accounting"

    async def finish(self, ctx: RequestContext, svc: CoreServices) -> None:
        ctx.latency_ms = (time.perf_counter() - ctx.t0) * 1e3
        self._tokens(ctx)
        m = svc.metrics
        model = _label_model(ctx, svc)
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
        if ctx.budget_day and ctx.key is not None and svc.keys is not None:
            await svc.keys.run(svc.keys.settle, ctx.key.key_id, ctx.budget_day,
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


def _label_model(ctx: RequestContext, svc: CoreServices) -> str:
    """The ``model`` label: who answered, else the routed or requested model; a name the
    gateway does not know is "unknown" (one label value per client typo would grow the
    metrics without bound)."""
    if ctx.answered is not None:
        return ctx.answered.model
    if ctx.local is not None:
        return ctx.local.model or "local"
    model = ctx.routed_model or ctx.requested_model or "-"
    if ctx.routed_model or model == "-" or model in svc.pool.by_model \
            or model in svc.settings.profiles:
        return model
    return "unknown"
