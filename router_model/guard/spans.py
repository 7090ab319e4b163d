"""A detected span and how overlapping spans are resolved (one rule, used everywhere)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One detected entity, ``[start, end)`` in the text it was found in.

    Attributes:
        entity_type: Presidio-style name (``EMAIL_ADDRESS``, ``PERSON``, ``API_KEY``, ...).
        start, end: character offsets.
        score: confidence in [0, 1] (1.0 for a validated rule match).
        source: ``"rule"`` or ``"tagger"``.
    """

    entity_type: str
    start: int
    end: int
    score: float = 1.0
    source: str = "rule"

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def shifted(self, by: int) -> Span:
        return Span(self.entity_type, self.start + by, self.end + by, self.score, self.source)


def resolve(spans: Iterable[Span], priority: dict[str, int] | None = None) -> list[Span]:
    """Drop spans that overlap a preferred one; sorted by start.

    Preference: rule spans over tagger spans, then the lower ``priority`` value of the
    entity type (absent = 100), then the longer span, then the higher score.
    """
    prio = priority or {}

    def key(s: Span) -> tuple[int, int, int, float]:
        return (s.source != "rule", prio.get(s.entity_type, 100), s.start - s.end, -s.score)

    kept: list[Span] = []
    for s in sorted(spans, key=key):
        if not any(s.overlaps(k) for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: (s.start, s.end))
