"""The request path as an explicit pipeline of stages.

    admit -> pre-checks -> route -> budget -> call  |  post-checks -> log

``before`` stages run in order and may raise ``GatewayError`` to stop the request.
``finish`` stages (post-checks, log) ALWAYS run, for failed requests too; for a
streaming response they run when the stream ends. A guardrail or the conversation
memory plugs in by inserting a Stage into ``before`` (or ``finish``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from serve.context import RequestContext
from serve.errors import GatewayError

if TYPE_CHECKING:
    from serve.gateway import Gateway

log = logging.getLogger(__name__)


class Stage(Protocol):
    """One step of the request path."""

    name: str

    async def __call__(self, ctx: RequestContext, gw: Gateway) -> None: ...


class Pipeline:
    """Runs ``before`` stages, then (once the response is complete) ``finish`` stages."""

    def __init__(self, before: list[Stage], finish: list[Stage]) -> None:
        self.before = before
        self.finish = finish

    async def run(self, ctx: RequestContext, gw: Gateway) -> None:
        """Run the ``before`` stages. On error, run ``finish`` and re-raise.

        The request counts in ``gw.in_flight`` from here until ``complete`` ends (or it is
        cancelled here): the route stage uses it to skip the thread hop when alone.
        """
        if not ctx.in_flight:
            ctx.in_flight = True
            gw.in_flight += 1
        try:
            for stage in self.before:
                await stage(ctx, gw)
        except GatewayError as exc:
            ctx.error, ctx.status = exc, exc.status
            await self.complete(ctx, gw)
            raise
        except Exception as exc:
            log.exception("request %s: unexpected error", ctx.request_id)
            ctx.error = GatewayError(500, f"internal error (request {ctx.request_id})",
                                     type_="server_error", code="internal_error")
            ctx.status = 500
            await self.complete(ctx, gw)
            raise ctx.error from exc
        except BaseException:  # cancelled (client gone): no finish stages, but not in flight
            _leave(ctx, gw)
            raise

    async def complete(self, ctx: RequestContext, gw: Gateway) -> None:
        """Run the ``finish`` stages once per request (later calls return at once); each
        stage's failure is logged, never raised."""
        if ctx.completed:
            return
        ctx.completed = True
        try:
            for stage in self.finish:
                try:
                    await stage(ctx, gw)
                except Exception:
                    log.exception("request %s: finish stage %s failed", ctx.request_id,
                                  stage.name)
        finally:
            _leave(ctx, gw)

    def insert_before(self, anchor: str, stage: Stage) -> None:
        """Plug ``stage`` in just before the stage named ``anchor``."""
        names = [s.name for s in self.before]
        self.before.insert(names.index(anchor), stage)


def _leave(ctx: RequestContext, gw: Gateway) -> None:
    """The request no longer counts in ``gw.in_flight`` (idempotent)."""
    if ctx.in_flight:
        ctx.in_flight = False
        gw.in_flight -= 1
