"""What a guard check returns (shared by the gateway, the scan command and evaluation)."""

from __future__ import annotations

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
