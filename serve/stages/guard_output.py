"""The guard stage's output side: the per-request answer filter and the stage's metrics.

Streamed answers: each chunk's text goes through the library's ``OutputFilter`` (hold-back
buffer, bounded work); what it releases is sent in that chunk, the rest in later ones;
the finish chunk carries the flushed tail. Non-streamed answers (one chunk holding the
whole message): the full ``Guard.check`` (rules, secrets, learned scores, tagger) with the
request's policy. Tool-call chunks are held until the end, then checked (allow-list and
arguments) and released, or the answer is stopped.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from router_model.guard.policy import GuardPolicy
from router_model.guard.runtime import Guard
from router_model.guard.stream import OutputFilter as TextFilter
from router_model.guard.tools import ToolPolicy, check_tool_call
from serve.context import RequestContext
from serve.errors import GatewayError
from serve.filters import Chunk, OutputFilter, StopOutput


class GuardStageMetrics:
    """``lmroute_guard_decisions_total{stage,verdict}``, ``lmroute_guard_seconds{stage}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter("lmroute_guard_decisions_total", "Guard decisions",
                                 ["stage", "verdict"], registry=registry)
        self.seconds = Histogram("lmroute_guard_seconds", "Guard check time", ["stage"],
                                 registry=registry,
                                 buckets=(1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2))

    def count(self, stage: str, verdict: str, micros: float | None = None) -> None:
        self.decisions.labels(stage, verdict).inc()
        if micros is not None:
            self.seconds.labels(stage).observe(micros / 1e6)


def _stopped(reason: str) -> StopOutput:
    cat = reason.split(":")[0] or "policy"
    return StopOutput(GatewayError(400, f"The answer was stopped by the content policy "
                                   f"(category: {cat}).", code="content_policy_violation"))


class GuardOutput(OutputFilter):
    """One answer's guard filter (see module)."""

    def __init__(self, guard: Guard, policy: GuardPolicy, tools: ToolPolicy,
                 blocked: list[str], stream: bool, state: dict[str, Any],
                 metrics: GuardStageMetrics) -> None:
        self.guard, self.policy, self.tools = guard, policy, tools
        self.stream, self.state, self.metrics = stream, state, metrics
        self.text = TextFilter(policy, blocked)
        self.blocked = blocked
        self.held_tools: list[Chunk] = []
        self.args: dict[int, list[str]] = {}
        self.names: dict[int, str] = {}
        state["output_filter"] = self

    def _tools(self, chunk: Chunk) -> bool:
        calls = chunk.tool_call_args()
        for i, name, frag in calls:
            if name:
                self.names[i] = name
                if not self.tools.allows(name):
                    self._log("block", ["tool"])
                    raise _stopped("tool")
            self.args.setdefault(i, []).append(frag)
        return bool(calls)

    def on_chunk(self, ctx: RequestContext, chunk: Chunk) -> list[Chunk]:
        if self._tools(chunk):
            self.held_tools.append(chunk)
            if not chunk.content:
                return []
        if not self.stream:
            return [self._whole(chunk)]
        r = self.text.feed(chunk.content)
        if r.stopped:
            self._log("block", [r.reason.split(":")[0]])
            raise _stopped(r.reason)
        if chunk.finish_reason is not None:
            tail = self.text.finish()
            if tail.stopped:
                raise _stopped(tail.reason)
            return [*self._release_tools(), chunk.with_content(r.text + tail.text)]
        if not r.text and chunk.content:
            return []
        return [chunk.with_content(r.text)] if chunk.content else [chunk]

    def _whole(self, chunk: Chunk) -> Chunk:
        text = chunk.content
        if not text:
            return chunk
        d = self.guard.check(text, self.policy)
        filt = TextFilter(self.policy, self.blocked)
        if filt.feed(text).stopped or d.blocked:
            self._log("block", d.categories or ["blocked_text"], d.micros)
            raise _stopped(d.reason if d.blocked else "blocked_text")
        self._log(d.verdict, d.categories, d.micros)
        return chunk.with_content(d.redacted) if d.redacted != text else chunk

    def _release_tools(self) -> list[Chunk]:
        for i, parts in self.args.items():
            d = check_tool_call(self.guard, self.names.get(i, ""), "".join(parts), self.tools,
                                self.policy)
            self._log(d.verdict, d.categories, d.micros)
            if d.blocked:
                raise _stopped(d.reason)
        out, self.held_tools = self.held_tools, []
        self.args.clear()
        return out

    def on_end(self, ctx: RequestContext) -> list[Chunk]:
        out = self._release_tools()
        if self.stream and not self.text.stopped:
            tail = self.text.finish()
            if tail.stopped:
                raise _stopped(tail.reason)
            if tail.text:
                base = Chunk({"object": "chat.completion.chunk",
                              "choices": [{"index": 0, "delta": {}, "finish_reason": None}]})
                out.append(base.with_content(tail.text))
        return out

    def _log(self, verdict: str, categories: list[str], micros: float | None = None) -> None:
        self.state["log"].setdefault("output", []).append(
            {"verdict": verdict, "categories": categories,
             **({"micros": round(micros, 1)} if micros is not None else {})})
        self.metrics.count("output", verdict, micros)

    def summarize(self) -> None:
        """At ``finish``: the stream filter's totals into the log (no text)."""
        if self.stream:
            self.state["log"]["output_stream"] = {
                "chunks": self.text.chunks, "micros": round(self.text.micros, 1),
                "entities": dict(self.text.entities), "stopped": self.text.stopped,
                "reason": self.text.reason}
            self.metrics.count("output", "block" if self.text.stopped else
                               ("redact" if self.text.entities else "allow"), self.text.micros)
