"""Replace spans with typed placeholders (``[EMAIL_ADDRESS]``, ``[PERSON]``, ...)."""

from __future__ import annotations

from collections.abc import Sequence

from router_model.guard.spans import Span


def placeholder(entity_type: str) -> str:
    return f"[{entity_type}]"


def redact(text: str, spans: Sequence[Span]) -> str:
    """``text`` with each span (sorted, disjoint) replaced by its placeholder."""
    if not spans:
        return text
    out, last = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < last:  # overlapping input: the earlier span already covers it
            continue
        out += [text[last:s.start], placeholder(s.entity_type)]
        last = s.end
    out.append(text[last:])
    return "".join(out)
