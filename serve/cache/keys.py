"""What a cached answer is keyed by: a hard partition, a context and the question.

A chat request becomes a ``CacheKey``:

- ``tenant``: the hard partition (an API key's id or an explicit tenant). Entries of two
  tenants live in separate partitions; no text of it goes into any embedding.
- ``context``: SHA-256 of everything else that changes the answer, as canonical JSON:
  the requested model or profile, every message before the last one (system prompt and
  the conversation so far, normalised), every body field except the few known not to
  change the answer (``IGNORED_FIELDS``: stream flags, ``user``, metadata), and the
  routing overrides a profile request carries (weights, limits, ``sensitive``). An
  unknown field is part of the context: an unrecognised parameter can only make the
  cache miss, never serve a wrong answer.
- ``query``: the last message's text, normalised (NFKC, whitespace collapsed, optional
  case folding). The exact tier matches it exactly; the semantic tier compares it with
  the queries stored under the same tenant and context.

Requests that cannot share an answer raise ``Uncacheable`` with the reason: ``n`` > 1,
non-text content parts (images, audio), no text to key on.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

IGNORED_FIELDS = frozenset({"model", "messages", "stream", "stream_options", "user",
                            "metadata", "store", "service_tier"})
_SPACE = re.compile(r"\s+")


class Uncacheable(ValueError):
    """This request cannot be answered from (or stored in) the cache; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise(text: str, casefold: bool = False) -> str:
    """NFKC, whitespace runs -> one space, stripped (and case-folded when asked)."""
    out = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return out.casefold() if casefold else out


def _digest(*parts: str) -> str:
    """SHA-256 of length-prefixed parts (no separator can make two part lists collide)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode()
        h.update(f"{len(b)}:".encode())
        h.update(b)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class CacheKey:
    """tenant (hard partition), context digest, normalised query; see the module.
    ``partition``: digest of (tenant, context), the semantic tier searches one partition
    only; ``exact``: digest of (tenant, context, query), the exact tier's key. Both are
    computed once, when the key is made (a lookup and a store read them several times)."""

    tenant: str
    context: str
    query: str
    model: str = ""
    partition: str = field(init=False, repr=False, compare=False)
    exact: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "partition", _digest(self.tenant, self.context))
        object.__setattr__(self, "exact", _digest(self.tenant, self.context, self.query))


def message_text(message: Mapping[str, Any], index: int) -> str:
    """The text of one message (string content or text parts); raises Uncacheable for
    images, audio or other non-text parts."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise Uncacheable(f"messages[{index}].content: expected a string or a list of parts")
    parts = []
    for j, part in enumerate(content):
        if not isinstance(part, Mapping) or part.get("type", "text") != "text":
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            raise Uncacheable(f"messages[{index}].content[{j}]: {kind} parts are not cached")
        parts.append(str(part.get("text", "")))
    return "\n".join(parts)


def _canonical_message(message: Mapping[str, Any], index: int, casefold: bool) -> dict:
    out = {k: v for k, v in message.items() if k != "content"}
    out["content"] = normalise(message_text(message, index), casefold)
    return out


def context_digest(body: Mapping[str, Any], casefold: bool = False,
                   routing: Mapping[str, str] | None = None) -> str:
    """SHA-256 of the canonical JSON of everything but the last message's text."""
    msgs = body["messages"]
    last = dict(msgs[-1])
    last.pop("content", None)
    doc = {"model": body.get("model", ""),
           "before": [_canonical_message(m, i, casefold) for i, m in enumerate(msgs[:-1])],
           "last": last,
           "params": {k: v for k, v in body.items() if k not in IGNORED_FIELDS},
           "routing": dict(routing or {})}
    try:
        raw = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise Uncacheable(f"request body: not JSON-serialisable ({e})") from None
    return hashlib.sha256(raw).hexdigest()


def request_key(body: Mapping[str, Any], tenant: str, *, casefold: bool = False,
                routing: Mapping[str, str] | None = None) -> CacheKey:
    """The cache key of a chat-completion body (already validated by the gateway)."""
    if not tenant:
        raise ValueError("tenant: expected a non-empty partition key")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Uncacheable("messages: expected a non-empty list")
    n = body.get("n", 1)
    if n not in (None, 1):
        raise Uncacheable(f"n={n}: several choices are not cached")
    query = normalise(message_text(msgs[-1], len(msgs) - 1), casefold)
    if not query:
        raise Uncacheable("the last message has no text to key on")
    return CacheKey(tenant, context_digest(body, casefold, routing), query,
                    str(body.get("model", "")))


def prompt_key(prompt: str | Sequence[Mapping[str, Any]], tenant: str, model: str = "",
               casefold: bool = False) -> CacheKey:
    """Key of a bare prompt or message list (``lmroute cache pairs``)."""
    msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    return request_key({"model": model, "messages": msgs}, tenant, casefold=casefold)
