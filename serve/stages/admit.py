"""Stages ``admit`` (auth, body, headers, model name) and ``pre-checks`` (hard rules as a
model mask: key's models, backend health/cooldown, edge-only, context length)."""

from __future__ import annotations

import math

from serve.body_rules import CACHE_FLAG
from serve.context import RequestContext
from serve.errors import GatewayError, bad_request, forbidden, model_not_found, unauthorized
from serve.keys import KeyRecord
from serve.parse import (
    H_SENSITIVE,
    header_flag,
    ignored_routing_headers,
    parse_body,
    request_weights,
    routing_text,
    task_label,
)
from serve.pipeline import Stage
from serve.services import CoreServices


def key_allows(key: KeyRecord | None, model: str) -> bool:
    """No key (auth off) allows everything; else the key's rule (``KeyRecord.allows``)."""
    return key is None or key.allows(model)


class Admit(Stage[CoreServices]):
    """Authenticate, validate the body and resolve ``model`` to a profile or a model. The
    request keeps the router artifact it was admitted with (``ctx.router``), whatever hot
    swap happens while it runs."""

    name = "admit"

    async def before(self, ctx: RequestContext, svc: CoreServices) -> None:
        if len(ctx.raw) > svc.settings.max_request_bytes:
            raise GatewayError(413, f"Request body is {len(ctx.raw)} bytes; the limit is "
                               f"{svc.settings.max_request_bytes}.", code="request_too_large")
        if svc.keys is not None:
            await self._authenticate(ctx, svc)
        ctx.router, ctx.artifact = svc.router_slot()
        body = ctx.body = parse_body(ctx.raw)
        # the gateway's own field never goes upstream, whether the cache stage is on or off
        if CACHE_FLAG in body:
            ctx.state[CACHE_FLAG] = body.pop(CACHE_FLAG)
        ctx.requested_model = model = body["model"]
        ctx.stream = bool(body.get("stream", False))
        so = body.get("stream_options")
        ctx.include_usage = isinstance(so, dict) and so.get("include_usage") is True
        ctx.max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        ctx.text = routing_text(body["messages"])
        ctx.sensitive = header_flag(ctx.headers, H_SENSITIVE)
        ctx.task = task_label(ctx.headers)
        profiles = svc.settings.profiles
        if model in profiles:
            p = profiles[model]
            ctx.profile = model
            ctx.weights = request_weights(ctx.headers, p, profiles, svc.profile_weights[model])
            ctx.epsilon = p.epsilon
        elif model not in svc.pool.by_model:
            raise model_not_found(model)
        elif not key_allows(ctx.key, model):
            raise forbidden(f"This API key may not use model {model!r}.")
        else:
            ctx.ignored_headers = ignored_routing_headers(ctx.headers, profiles)

    async def _authenticate(self, ctx: RequestContext, svc: CoreServices) -> None:
        assert svc.keys is not None
        auth = ctx.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            raise unauthorized("Missing API key: send 'Authorization: Bearer lmr-...'.")
        record = await svc.keys.run(svc.keys.authenticate, token)
        if record is None:
            raise unauthorized("Invalid or revoked API key.")
        ctx.key = record


class PreChecks(Stage[CoreServices]):
    """Estimate prompt tokens; refuse over-long input; build the allowed-model mask."""

    name = "pre-checks"

    async def before(self, ctx: RequestContext, svc: CoreServices) -> None:
        s = svc.settings
        est = math.ceil(len(ctx.text) / s.chars_per_token) + 4 * len(ctx.body["messages"])
        ctx.prompt_tokens_est = est
        router_models = list(ctx.router.models) if ctx.router is not None else []
        candidates = ([m for m in router_models if key_allows(ctx.key, m)]
                      if ctx.profile else [ctx.requested_model])
        reachable = [*candidates]
        if ctx.profile and s.fallback_backend:
            reachable += svc.pool.backends[s.fallback_backend].settings.serves
        longest = max((svc.pool.max_context(m) for m in reachable), default=0)
        if longest and est > longest:
            raise bad_request(f"The input is about {est} tokens; the longest context among the "
                              f"models this request may use is {longest} tokens.",
                              code="context_length_exceeded", param="messages")
        live = svc.pool.live_models(edge_only=ctx.sensitive)
        ctx.allowed = [m for m in candidates
                       if m in live and svc.pool.max_context(m) >= est]
