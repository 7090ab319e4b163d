"""Context assembly: the budget is a hard bound under the real tokenizer, the recent
window is the latest messages verbatim, an old relevant message is retrieved, summaries
are used, and a request never waits for compaction (it uses the last completed one)."""

from __future__ import annotations

import pytest

from serve.memory.config import MemoryConfig
from serve.memory.service import build_service
from tests.serve.memory.conftest import conversation, fill


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    cfg = MemoryConfig(db_path=str(tmp_path_factory.mktemp("asm") / "m.sqlite"),
                       retrieval="hybrid", background=False, ttl_sweep_s=0.0)
    s = build_service(cfg)  # the extractive summarizer (the default)
    fill(s, conversation(150, canary_at=(12,)))
    s.compact_now("k1", "s1")
    yield s
    s.close()


@pytest.mark.parametrize("budget", [16, 40, 100, 256, 512, 1000, 3000])
@pytest.mark.parametrize("query", ["what is the vault code?", "", "marathon in October"])
def test_budget_is_a_hard_bound(svc, budget: int, query: str) -> None:
    res = svc.context("k1", "s1", query, budget)
    assert res.tokens == svc.counter.count_messages(res.messages) <= budget


def test_window_retrieval_and_summaries(svc) -> None:
    res = svc.context("k1", "s1", "what is the vault code in the secret note?", 600)
    msgs = svc.state("k1", "s1").messages
    assert res.window_ids == [m.id for m in msgs[-len(res.window_ids):]]
    assert [m.content for m in res.messages[1:]] == [m.content for m in
                                                    msgs[-len(res.window_ids):]]
    assert "u12" in res.retrieved_ids  # the old relevant message
    assert res.summary_ids and res.messages[0].role == "system"
    assert "vault code 9012" in res.messages[0].content
    assert "Summary:" in res.messages[0].content


def test_control_irrelevant_query_does_not_retrieve_the_note(svc) -> None:
    res = svc.context("k1", "s1", "pottery class", 120)
    assert "u12" not in res.retrieved_ids


def test_requests_use_the_last_completed_summary(make_service) -> None:
    s = make_service(summarizer="stub")
    fill(s, conversation(60))
    assert s.state("k1", "s1").summaries == []  # nothing compacted yet: no waiting
    res = s.context("k1", "s1", "hiking", 300)
    assert res.summary_ids == [] and res.retrieved_ids
    s.compact_now("k1", "s1")
    assert s.context("k1", "s1", "hiking", 300).summary_ids


def test_background_compaction(make_service) -> None:
    s = make_service(summarizer="stub", background=True)
    fill(s, conversation(40))
    assert s.wait_idle(30)
    assert s.state("k1", "s1").summaries
    assert s.compactor.stats.compactions >= 1
