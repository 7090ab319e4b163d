"""Per-backend health: availability at startup, consecutive failures and cooldown.

A backend enters a cooldown of ``cooldown_s`` after ``cooldown_after`` consecutive
failed calls (a call = one request after its retries), whether or not other backends
exist. When the cooldown ends it is tried again (half-open): one success resets the
count, one more failure starts a new cooldown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class BackendHealth:
    """Mutable health state of one backend (event-loop thread only)."""

    cooldown_after: int
    cooldown_s: float
    available: bool = True
    unavailable_reason: str = ""
    consecutive_failures: int = 0
    cooldown_until: float = 0.0  # time.monotonic() deadline
    total_failures: int = 0

    def is_live(self, now: float | None = None) -> bool:
        """Available and not cooling down."""
        if not self.available:
            return False
        return (time.monotonic() if now is None else now) >= self.cooldown_until

    def cooldown_left_s(self, now: float | None = None) -> float:
        return max(0.0, self.cooldown_until - (time.monotonic() if now is None else now))

    def mark_unavailable(self, reason: str) -> None:
        self.available = False
        self.unavailable_reason = reason

    def record_success(self) -> None:
        self.consecutive_failures = 0

    def record_failure(self, now: float | None = None) -> bool:
        """Count a failed call; True when this failure starts a cooldown."""
        self.consecutive_failures += 1
        self.total_failures += 1
        if self.consecutive_failures >= self.cooldown_after:
            self.cooldown_until = (time.monotonic() if now is None else now) + self.cooldown_s
            self.consecutive_failures = 0
            return True
        return False

    def describe(self) -> dict[str, object]:
        return {"available": self.available, "reason": self.unavailable_reason,
                "cooling_down_s": round(self.cooldown_left_s(), 3),
                "consecutive_failures": self.consecutive_failures}
