"""What a guard check returns (shared by the gateway, the scan command and evaluation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from router_model.guard.spans import Span


@dataclass
class GuardDecision:
    """The verdict on one text (or one tool call).

    Attributes:
        verdict: ``allow`` | ``flag`` | ``redact`` | ``block`` (the policy's most severe
            action among the triggered categories).
        scores: category -> score in [0, 1] (``injection``, ``harmful``: learned, max over
            windows; ``pii``: highest span confidence; ``secret``: 1 if a secret was found).
        categories: the categories over their threshold, in a fixed order.
        pii: PII and secret spans in the ORIGINAL text's character offsets.
        redacted: the text with the redacted spans replaced by ``[ENTITY_TYPE]``
            placeholders (the text itself when nothing was redacted).
        micros: wall time of the check in microseconds.
        reason: a short human-readable why (never the matched text).
    """

    verdict: str
    scores: dict[str, float]
    categories: list[str]
    pii: list[Span]
    redacted: str
    micros: float
    reason: str = ""
    actions: dict[str, str] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def scan_record(self, id_: Any) -> dict[str, Any]:
        """The line ``lmroute guard scan`` writes (the format evaluation scripts read)."""
        return {"id": id_, "verdict": self.verdict,
                "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
                "categories": list(self.categories),
                "pii": [{"entity_type": s.entity_type, "start": s.start, "end": s.end}
                        for s in self.pii],
                "redacted": self.redacted, "micros": round(self.micros, 1)}

    def log_record(self) -> dict[str, Any]:
        """What the decision log keeps: no text, no matched values."""
        return {"verdict": self.verdict, "categories": list(self.categories),
                "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
                "entities": sorted({s.entity_type for s in self.pii}),
                "micros": round(self.micros, 1), "reason": self.reason}


def merge(texts: Sequence[tuple[str, GuardDecision]], others: Sequence[GuardDecision] = (),
          sep: str = "\n\n") -> GuardDecision:
    """One verdict on several checked texts (a conversation) and text-less checks (its
    tool calls): the most severe verdict, the union of categories (in ``CATEGORIES``
    order), the highest score per category, the spans shifted into ``sep.join(texts)``
    and the redacted texts joined the same way; micros add up."""
    from router_model.guard.policy import CATEGORIES, SEVERITY

    parts = [d for _, d in texts] + list(others)
    if not parts:
        return GuardDecision("allow", {}, [], [], "", 0.0, "clean")
    scores: dict[str, float] = {}
    for d in parts:
        for k, v in d.scores.items():
            scores[k] = max(scores.get(k, 0.0), float(v))
    cats = {c for d in parts for c in d.categories}
    spans: list[Span] = []
    offset = 0
    for text, d in texts:
        spans += [Span(s.entity_type, s.start + offset, s.end + offset, s.score, s.source)
                  for s in d.pii]
        offset += len(text) + len(sep)
    actions = {k: v for d in parts for k, v in d.actions.items()}
    reasons = [d.reason for d in parts if d.reason and d.reason != "clean"]
    return GuardDecision(max((d.verdict for d in parts), key=SEVERITY.__getitem__),
                         scores, [c for c in CATEGORIES if c in cats], spans,
                         sep.join(d.redacted for _, d in texts),
                         sum(d.micros for d in parts),
                         ", ".join(dict.fromkeys(reasons)) or "clean", actions)
