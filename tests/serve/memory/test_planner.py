"""The plan: deterministic, bounded chunks, the broad chain, and content-defined cuts
(removing a message changes only its own chunk)."""

from __future__ import annotations

import pytest

from serve.memory.errors import InvalidInput
from serve.memory.planner import PlanConfig, chunks, make_plan
from serve.memory.types import Message


def msgs(n: int, drop: frozenset[int] = frozenset()) -> list[Message]:
    return [Message(f"id-{i}", "user", f"text {i}", float(i), i) for i in range(n)
            if i not in drop]


def test_plan_is_deterministic_and_bounded() -> None:
    cfg = PlanConfig()
    p1, p2 = make_plan(msgs(300), cfg, "k"), make_plan(msgs(300), cfg, "k")
    assert [p.id for p in p1.build] == [p.id for p in p2.build]
    sealed, covered = chunks(msgs(300), cfg)
    assert all(cfg.chunk_min <= len(c) <= cfg.chunk_max for c in sealed)
    assert covered + len(p1.verbatim) == 300 and len(p1.verbatim) >= cfg.window
    levels = [p.level for p in p1.head]
    assert levels[0] == 2 and levels.count(2) == 1
    assert cfg.detailed_chunks <= levels.count(1) < cfg.detailed_chunks + cfg.merge_chunks
    assert {p.id for p in make_plan(msgs(300), cfg, "other").build}.isdisjoint(
        {p.id for p in p1.build})  # the summarizer key is part of every id


def test_removing_a_message_changes_only_its_chunk() -> None:
    cfg = PlanConfig()
    full, _ = chunks(msgs(200), cfg)
    target = next(c for c in full[3:] if len(c) > cfg.chunk_min)[1]
    cut, _ = chunks(msgs(200, frozenset({target.seq})), cfg)
    before = [[m.id for m in c] for c in full]
    after = [[m.id for m in c] for c in cut]
    changed = [c for c in before if c not in after]
    assert len(changed) == 1 and target.id in changed[0]
    assert len(after) == len(before)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="chunk_min"):
        PlanConfig(chunk_min=10, chunk_avg=8)
