"""Verifiable forgetting with the stub summarizer (which quotes its sources verbatim):
byte-identical state vs a history that never had the message, canaries absent from every
store and the raw database bytes (with the negative control: present before), rollback
past an erasure, whole-session erasure, and the receipt."""

from __future__ import annotations

import json

import pytest

from serve.memory.build import OWNER
from serve.memory.errors import NotFound
from serve.memory.planner import _is_boundary, chunks
from serve.memory.types import to_dict
from serve.memory.verify import needles, scan_bytes
from tests.serve.memory.conftest import CANARY, conversation, fill

N = 120  # enough for two links of the broad chain


def _built(make_service, name: str, messages, erase: list[str] | None = None):
    svc = make_service(name)
    fill(svc, messages)
    svc.compact_now("k1", "s1")
    receipt = svc.erase("k1", "s1", erase, reason="gdpr request") if erase else None
    return svc, receipt


def _everything(svc) -> str:
    """Every row of every table, as text (what a reader of the database could see)."""
    conn = svc.store._conn()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return "\n".join(repr(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}"))


def _canary_in_raw(svc) -> int:
    keep, _ = needles([CANARY], [])
    return scan_bytes(svc.store.raw_files(), keep).hits


@pytest.mark.parametrize("which", ["old", "boundary", "set"])
def test_state_after_erasure_is_byte_identical_to_never_having_it(make_service, which) -> None:
    history = conversation(N, canary_at=(17,))
    sealed, _ = chunks(_stub_messages(history), make_service("probe").compactor.plan_cfg)
    boundary = next(c[-1].id for c in sealed[1:] if _is_boundary(c[-1].id, _cfg(make_service)))
    gone = {"old": ["u17"], "boundary": ["u17", boundary], "set": ["u17", "u40", "u41"]}[which]
    a, receipt = _built(make_service, "a", history, erase=gone)
    b, _ = _built(make_service, "b", [m for m in history if m.id not in gone])
    sa, sb = a.state("k1", "s1"), b.state("k1", "s1")
    assert any(s.level == 2 for s in sb.summaries)  # the broad chain is exercised
    assert sa.canonical() == sb.canonical()
    assert receipt is not None and receipt.recomputed  # summaries were recomputed
    assert any(r.new_id is not None for r in receipt.recomputed)


def _cfg(make_service):
    return make_service("cfg").compactor.plan_cfg


def _stub_messages(history):
    from serve.memory.types import Message

    return [Message(m.id, m.role, m.content, m.ts, i) for i, m in enumerate(history)]


def test_canaries_are_gone_from_every_store_after_erasure(make_service) -> None:
    history = conversation(N, canary_at=(17, 95))
    svc, _ = _built(make_service, "c", history)
    # negative control: before the erasure the canary is everywhere the scan looks
    assert CANARY in _everything(svc)
    assert any(CANARY in s.content for s in svc.store.all_summaries("k1", "s1"))
    svc.context("k1", "s1", "secret vault code", 400)  # fills the retrieval index
    assert sum(s.hits for s in svc.indexes.scan([CANARY.lower()])) > 0
    svc.store.checkpoint()
    assert _canary_in_raw(svc) > 0

    receipt = svc.erase("k1", "s1", ["u17", "u95"], reason="user asked")
    v = receipt.verification
    assert v is not None and v.clean and receipt.to_json()["verified_clean"]
    assert {s.store for s in v.stores} >= {"sqlite:messages", "sqlite:summaries",
                                           "sqlite:audit", "raw_db_files",
                                           "retrieval_index:documents"}
    assert v.ngrams > 0
    assert CANARY not in _everything(svc) and "zebra quantum" not in _everything(svc)
    assert _canary_in_raw(svc) == 0
    assert "vault code 9017" not in _everything(svc)
    ctx = svc.context("k1", "s1", "secret vault code zebra", 2000)
    assert CANARY not in json.dumps(to_dict(ctx))
    assert CANARY not in json.dumps(receipt.to_json())  # the receipt quotes no text


def test_rollback_past_an_erasure_never_restores_the_text(make_service) -> None:
    svc, _ = _built(make_service, "r", conversation(40, canary_at=(5,)))
    before = svc.versions("k1", "s1")
    receipt = svc.erase("k1", "s1", ["u5"], reason="remove")
    rewritten = {r.version for r in receipt.versions_rewritten}
    assert rewritten >= {v.version for v in before if v.version >= 6}
    for v in (6, 20, before[-1].version):
        svc.rollback("k1", "s1", v, reason="try to bring it back")
        state = svc.state("k1", "s1")
        assert "u5" not in {m.id for m in state.messages}
        assert "u5" in {t.id for t in state.tombstones}
        assert CANARY not in json.dumps(to_dict(state))
        assert CANARY not in json.dumps(to_dict(svc.state("k1", "s1", version=v)))
    assert CANARY not in _everything(svc)
    assert svc.audit("k1", "s1")[1].ok


def test_erasing_a_whole_session(make_service) -> None:
    svc, _ = _built(make_service, "w", conversation(60, canary_at=(30,)))
    fill(svc, conversation(12), session="other")
    receipt = svc.erase("k1", "s1", None, reason="close my account")
    assert receipt.scope == "session" and len(receipt.erased_ids) == 60
    assert receipt.verification is not None and receipt.verification.clean
    with pytest.raises(NotFound):
        svc.state("k1", "s1")
    assert CANARY not in _everything(svc) and _canary_in_raw(svc) == 0
    assert len(svc.state("k1", "other").messages) == 12  # the other session is untouched
    entries, report = svc.audit("k1", "s1")
    assert report.ok and entries[-1].action == "erase_verified"


def test_erasing_an_unknown_message_is_not_found(make_service) -> None:
    svc, _ = _built(make_service, "u", conversation(5))
    with pytest.raises(NotFound, match="nope"):
        svc.erase("k1", "s1", ["nope"], reason="x")
    svc.erase("k1", "s1", ["u1"], reason="x")
    with pytest.raises(NotFound, match="already erased"):
        svc.erase("k1", "s1", ["u1"], reason="again")
    assert OWNER == "local"
