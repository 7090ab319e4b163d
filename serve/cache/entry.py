"""A cached answer and the entry that holds it.

``StoredAnswer`` is what a complete chat completion carries (text or tool calls, finish
reason, token usage, the model that answered); ``serve.cache.replay`` turns it back into
a JSON completion or an SSE stream. ``CacheEntry`` adds the key, the query embedding,
timing and what invalidation needs (requested and served model, conversation session).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serve.cache.keys import CacheKey

STORABLE_FINISH = frozenset({"stop", "length", "tool_calls", "function_call"})


@dataclass(frozen=True)
class StoredAnswer:
    """One complete assistant answer.

    Attributes:
        content: the answer text (None when the answer is only tool calls).
        finish_reason: the upstream's finish reason ("stop", "length", "tool_calls").
        model: the model that produced it (upstream name).
        prompt_tokens, completion_tokens: the original call's usage.
        tool_calls: the OpenAI ``tool_calls`` list, when any.
    """

    content: str | None
    finish_reason: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_completion(cls, body: dict[str, Any]) -> StoredAnswer:
        """From a non-streamed OpenAI chat completion (one choice); ValueError if it is
        not a complete answer."""
        choices = body.get("choices")
        if not isinstance(choices, list) or len(choices) != 1:
            raise ValueError("choices: expected exactly one choice")
        choice = choices[0]
        msg = choice.get("message") or {}
        finish = choice.get("finish_reason")
        if finish not in STORABLE_FINISH:
            raise ValueError(f"finish_reason: {finish!r} is not a complete answer")
        usage = body.get("usage") or {}
        return cls(msg.get("content"), str(finish), str(body.get("model", "")),
                   int(usage.get("prompt_tokens") or 0),
                   int(usage.get("completion_tokens") or 0),
                   tuple(msg.get("tool_calls") or ()))

    @property
    def size_bytes(self) -> int:
        return len(self.content or "") + sum(len(str(t)) for t in self.tool_calls)


@dataclass
class CacheEntry:
    """One stored answer.

    Attributes:
        key: tenant, context and normalised query.
        answer: the stored answer.
        vector: (d,) float32 unit embedding of the query (None: exact tier only).
        created, expires: wall-clock seconds (``time.time()``); expires = inf: no TTL.
        session: the conversation / memory session that produced it (erasure).
        cost_usd, latency_ms: what the original call cost (a hit saves it).
        entry_id: assigned by the store.
    """

    key: CacheKey
    answer: StoredAnswer
    vector: np.ndarray | None = field(repr=False)
    created: float
    expires: float
    session: str | None = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    entry_id: int = -1
    hits: int = field(default=0, compare=False)

    def alive(self, now: float) -> bool:
        return now < self.expires

    def mentions(self, texts: tuple[str, ...]) -> bool:
        """True when the query or the answer contains any of ``texts`` (case-folded)."""
        hay = (self.key.query + "\n" + (self.answer.content or "")).casefold()
        return any(t.casefold() in hay for t in texts if t)
