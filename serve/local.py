"""Answers a stage gives without calling a backend (a cache hit, a guardrail's canned
refusal): ``ctx.answer_locally(LocalAnswer(...))``.

The response is built here, as a backend's would be: a ``chat.completion`` document, or
an SSE stream of ``chat.completion.chunk`` documents (role + content, finish, a usage
chunk when the client asked for ``stream_options.include_usage``, ``[DONE]``). The log row
says ``logging_policy = "local/<marker>"``; the training sources never learn from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class LocalAnswer:
    """What to answer, and what the log should say about it."""

    marker: str  # "cache", "guard", ...: logging_policy "local/<marker>"
    content: str = ""
    model: str = ""  # shown as the response's model (e.g. the model a cached answer came from)
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None  # reported to the client; None = zeros
    saved_cost_usd: float = 0.0  # what the backend call would have cost (logged)
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    meta: dict[str, Any] = field(default_factory=dict)  # into the log row's meta

    def __post_init__(self) -> None:
        if not self.marker or "/" in self.marker:
            raise ValueError(f"LocalAnswer.marker: expected a plain name, got {self.marker!r}")


def _usage(a: LocalAnswer) -> dict[str, int]:
    u = dict(a.usage or {})
    u.setdefault("prompt_tokens", 0)
    u.setdefault("completion_tokens", 0)
    u["total_tokens"] = u["prompt_tokens"] + u["completion_tokens"]
    return u


def completion_doc(a: LocalAnswer, request_id: str, model: str) -> dict[str, Any]:
    """The ``chat.completion`` of a local answer."""
    message: dict[str, Any] = {"role": "assistant", "content": a.content}
    if a.tool_calls:
        message["tool_calls"] = a.tool_calls
    return {"id": request_id, "object": "chat.completion", "created": int(time.time()),
            "model": a.model or model,
            "choices": [{"index": 0, "message": message, "finish_reason": a.finish_reason}],
            "usage": _usage(a)}


def chunk_docs(a: LocalAnswer, request_id: str, model: str, include_usage: bool
               ) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` documents of a local answer, in order."""
    base = {"id": request_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": a.model or model}
    delta: dict[str, Any] = {"role": "assistant", "content": a.content}
    if a.tool_calls:
        delta["tool_calls"] = [{**tc, "index": i} for i, tc in enumerate(a.tool_calls)]
    docs = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": a.finish_reason}]}]
    if include_usage:
        docs.append({**base, "choices": [], "usage": _usage(a)})
    return docs
