"""Deploy gate: paired lower bound against a margin."""

from __future__ import annotations

import numpy as np

from eval.bootstrap import Bootstrap
from eval.gate import gate


def test_clear_win_passes_and_tie_fails() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(400)
    boot = Bootstrap(400, n_boot=500, seed=0)
    win = gate(base + 0.05, base, boot, margin=0.0)
    assert win.passed and abs(win.diff_lcb - 0.05) < 1e-9  # constant difference
    assert win.reason.startswith("PASS")
    tie = gate(base, base, boot)
    assert not tie.passed and tie.reason.startswith("FAIL") and "<= margin" in tie.reason
    assert not gate(base + 0.05, base, boot, margin=0.1).passed


def test_paired_beats_unpaired_noise() -> None:
    # large shared noise, small consistent gain: only a paired test sees it
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, 300)
    res = gate(noise + 0.02 + rng.normal(0, 0.01, 300), noise, Bootstrap(300, 500, seed=0))
    assert res.passed
