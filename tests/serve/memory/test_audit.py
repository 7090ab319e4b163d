"""The audit log: it verifies, holds no plaintext, refuses edits, and a one-byte tamper
of the database file (or a removed entry) is detected."""

from __future__ import annotations

import sqlite3

import pytest

from serve.memory.sqlite_store import SqliteStore
from tests.serve.memory.conftest import CANARY, conversation, fill


def test_chain_verifies_and_holds_no_plaintext(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(30, canary_at=(3,)))
    svc.compact_now("k1", "s1")
    svc.rollback("k1", "s1", 10, reason="rollback-reason-marker")
    entries, report = svc.audit("k1", "s1")
    assert report.ok and report.n_entries == len(entries) == 32
    assert {e.action for e in entries} == {"append", "compact", "rollback"}
    assert entries[-1].reason == "rollback-reason-marker" and entries[-1].actor == "k1"
    text = repr(entries)
    assert "CANARY" not in text and "zebra" not in text and "Message 5" not in text
    assert all(e.details.get("content_hashes") for e in entries if e.action == "append")


def _flip_one_byte(path, marker: bytes) -> None:
    data = bytearray(path.read_bytes())
    i = data.find(marker)
    assert i >= 0, "marker not in the file"
    data[i + len(marker) - 1] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))


def test_one_byte_tamper_in_the_file_is_detected(tmp_path) -> None:
    store = SqliteStore(tmp_path / "t.sqlite")
    for m in conversation(6):
        store.append("k", "s", [m], actor="k")
    assert store.verify_audit().ok
    target = store.audit("k", "s")[3].details["content_hashes"][0]  # only in entry 4
    store.checkpoint()
    store.close()
    _flip_one_byte(tmp_path / "t.sqlite", target.encode())
    report = SqliteStore(tmp_path / "t.sqlite").verify_audit()
    assert not report.ok and report.first_bad_seq == 4
    assert "hash" in report.problem


def test_edits_are_refused_and_a_removed_entry_is_detected(tmp_path) -> None:
    store = SqliteStore(tmp_path / "t.sqlite")
    for m in conversation(5):
        store.append("k", "s", [m], actor="k")
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET reason = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.execute("DROP TRIGGER audit_no_delete")  # what an attacker with the file can do
    conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.commit()
    conn.close()
    report = store.verify_audit()
    assert not report.ok and report.first_bad_seq == 3 and "missing" in report.problem


def test_keyed_hashes_differ_across_keys(tmp_path) -> None:
    """Without the key the content hash cannot be recomputed (two keys, same text)."""
    a = SqliteStore(tmp_path / "a.sqlite", key=b"a" * 32)
    b = SqliteStore(tmp_path / "b.sqlite", key=b"b" * 32)
    m = conversation(1)
    a.append("k", "s", m, actor="k")
    b.append("k", "s", m, actor="k")
    ha = a.audit("k", "s")[0].details["content_hashes"]
    hb = b.audit("k", "s")[0].details["content_hashes"]
    assert ha != hb
    assert CANARY not in repr(ha)
