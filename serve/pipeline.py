"""The request path as an ordered list of stages (contract: docs/contracts.md, "Pipeline
stages").

    admit -> pre-checks -> route -> budget -> call -> accounting -> log

A stage subclasses ``Stage`` and overrides only the hooks it needs; the pipeline calls only
overridden hooks (a stage without ``before`` costs nothing on the request path):

- ``before(ctx, svc)``: in order, until one raises ``GatewayError`` (the request fails with
  it) or answers locally (``ctx.answer_locally``: the remaining ``before`` hooks, i.e.
  route, budget and call, are skipped);
- ``output_filter(ctx)``: a per-request filter of the answer (streamed or not);
- ``finish(ctx, svc)``: once per request, in order, for every request (failed, refused,
  answered locally, streamed: when the stream ends or the client leaves); a failing
  ``finish`` hook is logged and the next one still runs;
- ``start(svc)`` / ``close()``: the stage's resources, in the app's lifespan.

Guardrails, memory and the cache plug in by config (``serve/stages/factory.py``), each
inserted before a named stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from serve.context import RequestContext
from serve.errors import GatewayError
from serve.filters import OutputFilter

log = logging.getLogger(__name__)
S = TypeVar("S")  # the services a stage needs: serve.services.Services or CoreServices


class Stage(Generic[S]):
    """One step of the request path; every hook is optional."""

    name: ClassVar[str] = ""

    async def start(self, svc: S) -> None:
        """Acquire resources (a model, a database, a background task) once, at startup."""

    async def close(self) -> None:
        """Release them at shutdown."""

    async def before(self, ctx: RequestContext, svc: S) -> None:
        """The request path (may raise ``GatewayError`` or answer locally)."""

    def output_filter(self, ctx: RequestContext) -> OutputFilter | None:
        """A filter of this request's answer, or None."""
        return None

    async def finish(self, ctx: RequestContext, svc: S) -> None:
        """After the response (``ctx.answer_text``, ``ctx.answer_complete``, ``ctx.status``)."""


def _overrides(stage: Stage[Any], hook: str) -> bool:
    return getattr(type(stage), hook) is not getattr(Stage, hook)


class Pipeline:
    """Runs the ``before`` hooks, then (once the response is complete) the ``finish`` hooks."""

    def __init__(self, stages: Sequence[Stage[Any]]) -> None:
        names = [s.name for s in stages]
        dup = {n for n in names if names.count(n) > 1}
        if dup or not all(names):
            raise ValueError(f"pipeline: stage names must be unique and non-empty, got {names}")
        self.stages = list(stages)
        self._index()

    def _index(self) -> None:
        self.before = [s for s in self.stages if _overrides(s, "before")]
        self.finish = [s for s in self.stages if _overrides(s, "finish")]
        self.filtering = [s for s in self.stages if _overrides(s, "output_filter")]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def insert_before(self, anchor: str, stage: Stage[Any]) -> None:
        """Plug ``stage`` in just before the stage named ``anchor``."""
        if stage.name in self.names:
            raise ValueError(f"pipeline: a stage named {stage.name!r} is already in it")
        if anchor not in self.names:
            raise ValueError(f"pipeline: no stage named {anchor!r} to insert "
                             f"{stage.name!r} before (stages: {self.names})")
        self.stages.insert(self.names.index(anchor), stage)
        self._index()

    async def start(self, svc: Any) -> None:
        for s in self.stages:
            if _overrides(s, "start"):
                await s.start(svc)

    async def close(self) -> None:
        """Close every stage (reverse order); one that fails is logged, the rest still close."""
        for s in reversed(self.stages):
            if _overrides(s, "close"):
                try:
                    await s.close()
                except Exception:
                    log.exception("stage %s failed to close", s.name)

    def filters(self, ctx: RequestContext) -> list[OutputFilter]:
        """This request's output filters, in pipeline order."""
        out = []
        for s in self.filtering:
            f = s.output_filter(ctx)
            if f is not None:
                out.append(f)
        return out

    async def run(self, ctx: RequestContext, svc: Any) -> None:
        """Run the ``before`` hooks. On error, run ``finish`` and re-raise.

        The request counts in ``svc.in_flight`` from here until ``complete`` ends (or it is
        cancelled here): the route stage uses it to skip the thread hop when alone.
        """
        if not ctx.in_flight:
            ctx.in_flight = True
            svc.in_flight += 1
        try:
            for stage in self.before:
                await stage.before(ctx, svc)
                if ctx.local is not None:
                    break
        except GatewayError as exc:
            ctx.fail(exc)
            await self.complete(ctx, svc)
            raise
        except Exception as exc:
            log.exception("request %s: unexpected error", ctx.request_id)
            ctx.fail(GatewayError(500, f"internal error (request {ctx.request_id})",
                                  type_="server_error", code="internal_error"))
            await self.complete(ctx, svc)
            assert ctx.error is not None
            raise ctx.error from exc
        except BaseException:  # cancelled (client gone): no finish hooks, but not in flight
            _leave(ctx, svc)
            raise

    async def complete(self, ctx: RequestContext, svc: Any) -> None:
        """Run the ``finish`` hooks once per request (later calls return at once)."""
        if ctx.completed:
            return
        ctx.completed = True
        try:
            for stage in self.finish:
                try:
                    await stage.finish(ctx, svc)
                except Exception:
                    log.exception("request %s: finish hook of stage %s failed",
                                  ctx.request_id, stage.name)
        finally:
            _leave(ctx, svc)


def _leave(ctx: RequestContext, svc: Any) -> None:
    """The request no longer counts in ``svc.in_flight`` (idempotent)."""
    if ctx.in_flight:
        ctx.in_flight = False
        svc.in_flight -= 1
