"""A stored answer served again: as a JSON chat completion or as an SSE stream.

The stream has the shape of an OpenAI stream: a role chunk, content chunks (the text in
pieces of about ``piece_chars`` characters, cut at whitespace), tool-call chunks, a
final chunk with the finish reason, the usage chunk (``choices: []``) only when the
client asked for ``stream_options.include_usage``, then ``data: [DONE]``.

Usage reports the stored answer's token counts (what the answer is worth); the
``x-lmroute-cache`` header and the log row say it cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from serve.cache.entry import StoredAnswer

DONE = b"data: [DONE]\n\n"


def usage(answer: StoredAnswer) -> dict[str, int]:
    return {"prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens}


def completion(answer: StoredAnswer, request_id: str, created: int,
               model: str | None = None) -> dict[str, Any]:
    """The non-streamed chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = list(answer.tool_calls)
    return {"id": request_id, "object": "chat.completion", "created": created,
            "model": model or answer.model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": answer.finish_reason, "logprobs": None}],
            "usage": usage(answer)}


def pieces(text: str, piece_chars: int = 16) -> Iterator[str]:
    """``text`` in consecutive pieces of >= ``piece_chars`` chars, cut after whitespace;
    their concatenation is ``text`` exactly."""
    start = 0
    while start < len(text):
        end = min(len(text), start + piece_chars)
        while end < len(text) and not text[end - 1].isspace():
            end += 1
        yield text[start:end]
        start = end


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def sse_frames(answer: StoredAnswer, request_id: str, created: int, include_usage: bool,
               model: str | None = None, piece_chars: int = 16) -> Iterator[bytes]:
    """The SSE frames (``data: {...}\\n\\n`` ... ``data: [DONE]\\n\\n``)."""
    base = {"id": request_id, "object": "chat.completion.chunk", "created": created,
            "model": model or answer.model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _frame({**base, "choices": [{"index": 0, "delta": delta,
                                            "finish_reason": finish, "logprobs": None}]})

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(answer.content or "", piece_chars):
        yield chunk({"content": piece})
    for i, call in enumerate(answer.tool_calls):
        yield chunk({"tool_calls": [{"index": i, **call}]})
    yield chunk({}, answer.finish_reason)
    if include_usage:
        yield _frame({**base, "choices": [], "usage": usage(answer)})
    yield DONE
