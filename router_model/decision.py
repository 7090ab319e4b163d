"""What the runtime returns for one routed request (shared by serve, eval and the CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Decision:
    """One routing decision.

    Attributes:
        model: chosen model name.
        index: its index in the artifact's model list.
        propensity: probability with which ``model`` was chosen (1.0 when deterministic,
            < 1 under exploration). This is what the gateway logs.
        micros: decision time in microseconds, raw text to choice (tokenize included).
        reason: short human-readable why ("argmax utility", "explore", "fallback: ...").
        utility: per-model utility, model name -> float (excluded models at -1e30).
        quality: per-model predicted quality, model name -> float.
    """

    model: str
    index: int
    propensity: float
    micros: float
    reason: str
    utility: dict[str, float] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
