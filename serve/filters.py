"""Output filters: what a stage may do to an answer before the client sees it.

A filter gets the answer as ``chat.completion.chunk`` documents, one at a time
(``on_chunk``), then ``on_end``; each returns the chunks to emit now. It may hold chunks
back (return ``[]``), rewrite them (``chunk.with_content``), or stop the output by raising
``StopOutput``. A non-streamed answer goes through the same filters as one chunk holding
the whole message (``message_chunk``), so one filter serves both.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serve.errors import GatewayError

if TYPE_CHECKING:
    from serve.context import RequestContext


class StopOutput(Exception):
    """Raised by a filter to end the answer: the client gets ``error`` (an SSE error event
    on a stream, the error response otherwise)."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class Chunk:
    """One parsed ``chat.completion.chunk``; ``raw`` is its original JSON while unmodified
    (then it is forwarded byte for byte)."""

    doc: dict[str, Any]
    raw: bytes | None = None

    @property
    def delta(self) -> dict[str, Any]:
        choices = self.doc.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            d = choices[0].get("delta")
            if isinstance(d, dict):
                return d
        return {}

    @property
    def content(self) -> str:
        """Choice 0's delta text ("" when none)."""
        c = self.delta.get("content")
        return c if isinstance(c, str) else ""

    @property
    def finish_reason(self) -> str | None:
        choices = self.doc.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            r = choices[0].get("finish_reason")
            return r if isinstance(r, str) else None
        return None

    def tool_call_args(self) -> list[tuple[int, str, str]]:
        """(index, function name or "", argument fragment) of each tool-call delta."""
        out = []
        for tc in self.delta.get("tool_calls") or []:
            if isinstance(tc, dict):
                f = tc.get("function")
                fn: dict[str, Any] = f if isinstance(f, dict) else {}
                out.append((int(tc.get("index", 0) or 0), str(fn.get("name") or ""),
                            str(fn.get("arguments") or "")))
        return out

    def with_content(self, text: str) -> Chunk:
        """A copy whose choice-0 delta text is ``text`` (other fields kept)."""
        doc = copy.deepcopy(self.doc)
        choices = doc.get("choices") or [{"index": 0, "delta": {}}]
        doc["choices"] = choices
        choices[0].setdefault("delta", {})["content"] = text
        return Chunk(doc)

    def without_finish(self) -> Chunk:
        """A copy with no finish_reason (for text a filter emits before the real end)."""
        doc = copy.deepcopy(self.doc)
        for c in doc.get("choices") or []:
            if isinstance(c, dict):
                c["finish_reason"] = None
        return Chunk(doc)


class OutputFilter(ABC):
    """A per-request filter of the answer (state lives on the instance)."""

    @abstractmethod
    def on_chunk(self, ctx: RequestContext, chunk: Chunk) -> list[Chunk]:
        """The chunks to emit now for this input chunk (may be [])."""

    def on_end(self, ctx: RequestContext) -> list[Chunk]:
        """The chunks still held back, at the end of the answer."""
        return []


def run_chunk(filters: Sequence[OutputFilter], ctx: RequestContext, chunk: Chunk
              ) -> list[Chunk]:
    """Pass one chunk through the chain (filter i's output is filter i+1's input)."""
    out = [chunk]
    for f in filters:
        out = [c for item in out for c in f.on_chunk(ctx, item)]
    return out


def run_end(filters: Sequence[OutputFilter], ctx: RequestContext) -> list[Chunk]:
    """End the chain: each filter's held chunks go through the filters after it."""
    out: list[Chunk] = []
    for f in filters:
        out = [c for item in out for c in f.on_chunk(ctx, item)] + f.on_end(ctx)
    return out


def message_chunk(doc: dict[str, Any]) -> Chunk:
    """Choice 0 of a ``chat.completion`` as one chunk (content, tool calls, finish)."""
    choice = (doc.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    delta: dict[str, Any] = {"role": "assistant", "content": msg.get("content")}
    if msg.get("tool_calls"):
        delta["tool_calls"] = [{**tc, "index": i} for i, tc in enumerate(msg["tool_calls"])]
    return Chunk({"id": doc.get("id"), "object": "chat.completion.chunk",
                  "choices": [{"index": 0, "delta": delta,
                               "finish_reason": choice.get("finish_reason")}]})


def filter_message(filters: Sequence[OutputFilter], ctx: RequestContext,
                   doc: dict[str, Any]) -> str:
    """Run a non-streamed answer through the chain; the emitted text replaces choice 0's
    content (and the emitted tool-call arguments its tool calls'). Returns the text.
    Raises ``StopOutput`` when a filter stops the answer."""
    chunks = run_chunk(filters, ctx, message_chunk(doc)) + run_end(filters, ctx)
    text = "".join(c.content for c in chunks)
    choice = (doc.get("choices") or [{}])[0]
    msg = choice.get("message")
    if isinstance(msg, dict):
        if msg.get("content") is not None or text:
            msg["content"] = text
        args: dict[int, str] = {}
        for c in chunks:
            for i, _, frag in c.tool_call_args():
                args[i] = args.get(i, "") + frag
        for i, tc in enumerate(msg.get("tool_calls") or []):
            if isinstance(tc, dict) and isinstance(tc.get("function"), dict) and i in args:
                tc["function"]["arguments"] = args[i]
    return text
