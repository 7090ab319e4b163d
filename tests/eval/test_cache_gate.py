"""The verifier gate table (eval.cache_gate): shares kept per gate, exact pairs left out."""

from __future__ import annotations

import numpy as np

from eval.cache_gate import gate_table


def test_gate_table_counts_hits_kept_and_ignores_exact_pairs() -> None:
    cos = np.array([0.55, 0.70, 0.90, 0.60, 0.99])
    prob = np.array([0.9, 0.95, 0.9, 0.95, 0.1])
    exact = np.array([False, False, False, False, True])
    labels = np.array([1, 1, 1, 0, 1])
    rows = {r["gate"]: r for r in gate_table(cos, prob, exact, labels, threshold=0.8)}
    assert rows[0.5]["true_hits_kept"] == 1.0 and rows[0.5]["judged_share"] == 1.0
    assert np.isclose(rows[0.65]["true_hits_kept"], 2 / 3)  # the 0.55 true hit is cut
    assert rows[0.65]["false_hits_kept"] == 0.0  # the 0.60 false hit too
    assert rows[0.95]["true_hits_kept"] == 0.0 and rows[0.95]["judged_share"] == 0.0
