"""Deploy gate: ship the candidate only if it beats the running router with confidence.

The decision uses the paired bootstrap of the per-request utility difference
(candidate - baseline, same requests, same resamples): pass iff its one-sided lower
confidence bound at level 1 - alpha exceeds ``margin``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from eval.bootstrap import Bootstrap


@dataclass(frozen=True)
class GateResult:
    """Outcome of the gate; ``reason`` is the one line the CLI prints."""

    passed: bool
    reason: str
    diff_mean: float
    diff_lcb: float
    margin: float
    alpha: float
    candidate_utility: float
    baseline_utility: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def gate(
    candidate: np.ndarray, baseline: np.ndarray, boot: Bootstrap, margin: float = 0.0
) -> GateResult:
    """Compare per-request values (n,) of candidate and baseline (e.g. realised utility, or
    doubly robust per-round terms on a bandit log)."""
    cand, base = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    if cand.shape != base.shape:
        raise ValueError(f"gate: candidate has {cand.shape} values, baseline {base.shape}")
    diff = cand - base
    lcb = boot.lower_bound(diff)
    mean = float(diff.mean())
    passed = lcb > margin
    verdict = "PASS" if passed else "FAIL"
    cmp = ">" if passed else "<="
    reason = (
        f"{verdict}: utility lower bound of candidate - baseline = {lcb:+.4f} "
        f"({100 * (1 - boot.alpha):.0f}% one-sided, mean {mean:+.4f}, n={len(diff)}) "
        f"{cmp} margin {margin:+.4f}"
    )
    return GateResult(
        bool(passed), reason, mean, lcb, margin, boot.alpha, float(cand.mean()), float(base.mean())
    )
