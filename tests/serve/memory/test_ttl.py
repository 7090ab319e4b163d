"""TTL expiry goes through the erasure path: canaries are gone after expiry (raw bytes
included), per message and per session, by the sweeper thread too."""

from __future__ import annotations

import time

import pytest

from serve.memory.errors import InvalidInput, NotFound
from serve.memory.verify import needles, scan_bytes
from tests.serve.memory.conftest import CANARY, conversation, fill


def _raw_hits(svc) -> int:
    svc.store.checkpoint()
    return scan_bytes(svc.store.raw_files(), needles([CANARY], [])[0]).hits


def test_message_ttl_expires_through_erasure(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(40, canary_at=(8,)))
    svc.compact_now("k1", "s1")
    assert _raw_hits(svc) > 0  # negative control
    expires = svc.set_ttl("k1", "s1", 60.0, message_id="u8")
    assert expires is not None
    assert svc.sweep(now=expires - 1) == []  # not yet
    [receipt] = svc.sweep(now=expires + 1)
    assert receipt.scope == "ttl" and receipt.actor == "system:ttl"
    assert receipt.erased_ids == ["u8"] and receipt.verification.clean
    assert _raw_hits(svc) == 0
    assert "u8" not in {m.id for m in svc.state("k1", "s1").messages}
    assert svc.audit("k1", "s1")[1].ok


def test_session_ttl_and_default_message_ttl(make_service) -> None:
    svc = make_service(session_ttl_s=30.0)
    fill(svc, conversation(12, canary_at=(3,)))
    [receipt] = svc.sweep(now=time.time() + 31)
    assert receipt.scope == "ttl" and len(receipt.erased_ids) == 12
    with pytest.raises(NotFound):
        svc.state("k1", "s1")
    assert _raw_hits(svc) == 0

    per_msg = make_service("per", message_ttl_s=10.0)
    fill(per_msg, conversation(6, canary_at=(2,)))
    receipts = per_msg.sweep(now=time.time() + 11)
    assert sum(len(r.erased_ids) for r in receipts) == 6 and _raw_hits(per_msg) == 0


def test_the_sweeper_thread_erases_on_its_own(make_service) -> None:
    svc = make_service(ttl_sweep_s=0.05)
    fill(svc, conversation(8, canary_at=(1,)))
    svc.set_ttl("k1", "s1", 0.01, message_id="u1")
    deadline = time.time() + 10
    while time.time() < deadline and not svc.sweeper.receipts:
        time.sleep(0.05)
    assert svc.sweeper.receipts and svc.sweeper.receipts[0].erased_ids == ["u1"]
    assert _raw_hits(svc) == 0


def test_bad_ttl_is_refused(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(2))
    with pytest.raises(InvalidInput, match="ttl_s"):
        svc.set_ttl("k1", "s1", -5.0)
    with pytest.raises(NotFound):
        svc.set_ttl("k1", "s1", 5.0, message_id="missing")
