"""Stage ``call``: try the chain in order (retries happen inside each backend), falling
back to the next (model, backend) on failure; health/cooldown bookkeeping.

A non-streamed call that answers counts as the backend's success at once. A stream counts
only when it ends normally (``serve/streaming.py``): a backend that opens streams and then
breaks them (cut, stall, malformed events) accumulates failures and cools down, however
many streams it opened first. A stream whose first event is missing or invalid fails here,
before the client has seen a byte, and falls back like any failed call.
"""

from __future__ import annotations

import logging

from serve.backends.openai_http import BackendError
from serve.context import RequestContext, Route
from serve.errors import GatewayError, no_backend
from serve.jsonfast import loads
from serve.pipeline import Stage
from serve.services import CoreServices

log = logging.getLogger(__name__)


class Call(Stage[CoreServices]):
    """Call the first live (model, backend) of the chain that succeeds."""

    name = "call"

    async def before(self, ctx: RequestContext, svc: CoreServices) -> None:
        public: list[str] = []  # what the client may read of each failure
        for i, route in enumerate(ctx.chain):
            b = route.backend
            if not b.health.is_live():
                ctx.failures.append(f"{b.name}: cooling down")
                public.append(f"backend {b.name!r} cooling down")
                continue
            try:
                if ctx.stream:
                    ctx.stream_handle = h = await b.open_stream(ctx.body)
                    ctx.attempts += h.attempts
                    ctx.ttft_ms = (h.first_at - h.started) * 1e3
                else:
                    ctx.result = await b.complete(ctx.body)
                    ctx.attempts += ctx.result.attempts
                    b.health.record_success()
            except BackendError as exc:
                if exc.client_error:
                    raise _passthrough(exc) from exc
                ctx.attempts += b.settings.max_retries + 1
                record_failure(svc, route, str(exc))
                ctx.failures.append(str(exc))
                public.append(exc.public)
                continue
            ctx.answered = route
            if i > 0:
                self._note_fallback(ctx, svc, route)
            return
        if not ctx.failures:
            raise no_backend("No backend can serve this request now.", svc.pool.cooldown_left_s())
        raise GatewayError(502, f"All {len(ctx.chain)} backend(s) failed: "
                           + " | ".join(public)[:800] + f" (request {ctx.request_id}; the "
                           "gateway's decision log has the details)",
                           type_="upstream_error", code="backend_failed")

    def _note_fallback(self, ctx: RequestContext, svc: CoreServices, route: Route) -> None:
        first = ctx.chain[0]
        svc.metrics.fallbacks.labels(first.model, route.model).inc()
        ctx.reason += (f"; fallback from {first.model}@{first.backend.name} to "
                       f"{route.model}@{route.backend.name}")


def record_failure(svc: CoreServices, route: Route, message: str) -> None:
    """Count a failed call against the backend (may start its cooldown)."""
    b = route.backend
    svc.metrics.errors.labels(route.model, b.name, "backend").inc()
    if b.health.record_failure():
        log.warning("backend %r cooling down for %.0f s after %d consecutive failures "
                    "(last: %s)", b.name, b.settings.cooldown_s, b.settings.cooldown_after,
                    message)


def _passthrough(exc: BackendError) -> GatewayError:
    """An upstream 4xx goes back to the caller with the upstream's OpenAI-style error
    message (at most 300 characters); any other body stays in the log."""
    message = f"HTTP {exc.status}"
    try:
        err = loads(exc.body).get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            message = err["message"][:300]
        elif isinstance(err, str):
            message = err[:300]
    except (ValueError, AttributeError):
        pass
    return GatewayError(exc.status or 400, f"upstream rejected the request: {message}",
                        code="upstream_rejected")
