"""A detected span and how overlapping spans are resolved (one rule, used everywhere)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_REST = 3  # characters a tagger span keeps outside the rule spans it ran over


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
    entity type (absent = 100), then the longer span, then the higher score. A tagger
    span that overlaps only rule spans keeps its longest part outside them (``_rest``:
    a tagger address that ran over a rule's postcode or date keeps the street), or is
    dropped when that part is shorter than ``MIN_REST`` characters.
    """
    prio = priority or {}

    def key(s: Span) -> tuple[int, int, int, float]:
        return (s.source != "rule", prio.get(s.entity_type, 100), s.start - s.end, -s.score)

    kept: list[Span] = []
    for s in sorted(spans, key=key):
        hit = [k for k in kept if s.overlaps(k)]
        if not hit:
            kept.append(s)
        elif s.source != "rule" and all(k.source == "rule" for k in hit):
            rest = _rest(s, hit)  # inside s: overlaps nothing kept
            if rest is not None:
                kept.append(rest)
    return sorted(kept, key=lambda s: (s.start, s.end))


def _rest(span: Span, cut: list[Span]) -> Span | None:
    """The longest part of ``span`` outside every span of ``cut``, or None when it is
    shorter than ``MIN_REST``."""
    edges = sorted((max(c.start, span.start), min(c.end, span.end)) for c in cut)
    best, pos = (0, 0), span.start
    for a, b in [*edges, (span.end, span.end)]:
        if a - pos > best[1] - best[0]:
            best = (pos, a)
        pos = max(pos, b)
    if best[1] - best[0] < MIN_REST:
        return None
    return Span(span.entity_type, best[0], best[1], span.score, span.source)
