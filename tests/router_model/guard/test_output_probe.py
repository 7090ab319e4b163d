"""``scripts.guard_output_probe``'s counting on the tiny artifact (the figures in
docs/guard.md come from the same function over RouterBench answers)."""

from __future__ import annotations

from router_model.guard.policy import PRESETS
from router_model.guard.runtime import Guard
from scripts.guard_output_probe import probe


def test_probe_counts_blocks_and_redactions_per_check(tiny_guard: Guard) -> None:
    answers = ["def f():\n    return 3.5355339059327378", "Mail jane.doe@example.com.",
               "The answer is B."]
    r = probe(tiny_guard, answers, PRESETS["balanced"])
    assert r["answers"] == 3 and r["output_filter_blocked"] == 0
    assert r["output_filter_redacted"] == 1  # the e-mail; the float is no card
    assert 0 <= r["full_check_blocked"] <= 3
    assert sum(r["full_check_block_categories"].values()) >= r["full_check_blocked"]
