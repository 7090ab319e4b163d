"""Assemble a streamed answer for the cache, and refuse it unless the stream completed.

``StreamRecorder.feed`` takes each SSE ``data:`` payload (one chat.completion.chunk)
as the relay forwards it; ``answer(completed)`` returns the ``StoredAnswer`` only when
all of these hold, else None (and ``refused`` says why):

- the relay says the stream ended normally (``[DONE]`` seen, no upstream error, the
  client did not leave);
- a finish reason arrived and is a complete one (``stop``, ``length``, ``tool_calls``);
- every chunk parsed, one choice only, the text stayed under ``max_chars``.

A truncated, failed or abandoned stream therefore never becomes a cache entry.
"""

from __future__ import annotations

from typing import Any

import orjson

from serve.cache.entry import STORABLE_FINISH, StoredAnswer


class StreamRecorder:
    """Collects one streamed answer (see the module)."""

    def __init__(self, max_chars: int = 200_000) -> None:
        self.max_chars = max_chars
        self._text: list[str] = []
        self._chars = 0
        self._calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.model = ""
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.refused: str | None = None

    def feed(self, data: bytes | str | dict[str, Any]) -> None:
        """One chunk: raw JSON bytes/str (``[DONE]`` ignored) or a parsed dict."""
        if self.refused:
            return
        if isinstance(data, bytes | str):
            if data.strip() in (b"[DONE]", "[DONE]"):
                return
            try:
                data = orjson.loads(data)
            except orjson.JSONDecodeError:
                self.refused = "a chunk is not JSON"
                return
        if not isinstance(data, dict):
            self.refused = "a chunk is not a JSON object"
            return
        self._chunk(data)

    def _chunk(self, chunk: dict[str, Any]) -> None:
        self.model = self.model or str(chunk.get("model") or "")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.completion_tokens = int(usage.get("completion_tokens") or 0)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                self.refused = "more than one choice"
                return
            self._delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def _delta(self, delta: dict[str, Any]) -> None:
        text = delta.get("content")
        if isinstance(text, str) and text:
            self._chars += len(text)
            if self._chars > self.max_chars:
                self.refused = f"answer longer than {self.max_chars} chars"
                return
            self._text.append(text)
        for call in delta.get("tool_calls") or ():
            self._tool_delta(call)

    def _tool_delta(self, call: dict[str, Any]) -> None:
        slot = self._calls.setdefault(int(call.get("index", 0)),
                                      {"id": "", "type": "function",
                                       "function": {"name": "", "arguments": ""}})
        slot["id"] = call.get("id") or slot["id"]
        slot["type"] = call.get("type") or slot["type"]
        fn = call.get("function") or {}
        slot["function"]["name"] += fn.get("name") or ""
        slot["function"]["arguments"] += fn.get("arguments") or ""

    def answer(self, completed: bool) -> StoredAnswer | None:
        """The complete answer, or None (``refused`` set) when it must not be stored."""
        if not completed:
            self.refused = self.refused or "the stream did not complete normally"
        elif self.finish_reason is None:
            self.refused = self.refused or "no finish_reason: the stream was cut"
        elif self.finish_reason not in STORABLE_FINISH:
            self.refused = self.refused or f"finish_reason {self.finish_reason!r}"
        if self.refused:
            return None
        assert self.finish_reason is not None
        calls = tuple(self._calls[i] for i in sorted(self._calls))
        text = "".join(self._text)
        return StoredAnswer(text if text or not calls else None, self.finish_reason,
                            self.model, self.prompt_tokens, self.completion_tokens, calls)
