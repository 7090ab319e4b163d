"""The guard stage's output side: the per-request answer filter and the stage's metrics.

Streamed answers: each chunk's text goes through the library's ``OutputFilter`` (hold-back
buffer, bounded work); what it releases is sent in that chunk, the rest in later ones;
the finish chunk carries the flushed tail. Non-streamed answers (one chunk holding the
whole message): the same filter over the whole text at once (rules, secrets, blocked
phrases), so an answer gets the same treatment streamed or not. The learned classifier is
not run on answers: it is trained and calibrated on requests, and on real RouterBench
answers it would block 71% of MBPP code answers and 3% of ARC / Winogrande ones as
injection or harmful (``python -m scripts.guard_output_probe ARTIFACT``). Tool-call
chunks are held until the end, then checked (allow-list and arguments) and released, or
the answer is stopped.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from router_model.guard.policy import GuardPolicy
from router_model.guard.runtime import Guard, category_of
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
        """A non-streamed answer: the stream filter over the whole text at once, so an
        answer is treated the same streamed or not (see module)."""
        text = chunk.content
        if not text:
            return chunk
        head, tail = self.text.feed(text), self.text.finish()
        if self.text.stopped:
            self._log("block", [self.text.reason.split(":")[0]], self.text.micros)
            raise _stopped(self.text.reason)
        out = head.text + tail.text
        cats = sorted({category_of(e) for e in self.text.entities})
        self._log("redact" if out != text else "flag" if cats else "allow", cats,
                  self.text.micros)
        return chunk.with_content(out) if out != text else chunk

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
