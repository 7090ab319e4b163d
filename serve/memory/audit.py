"""The append-only, hash-chained audit log.

Each entry: seq, time, actor (the API key id, or ``system:*``), action, the session's
keyed reference, version, reason and ``details`` (ids and keyed content hashes, never
text). ``entry_hash = HMAC(key, prev_hash, canonical entry)``, so changing, removing or
reordering any entry breaks every later link; ``verify`` finds the first broken one.
Triggers refuse UPDATE and DELETE on the table; the chain catches whoever bypasses
them (e.g. by editing the file's bytes). Cutting entries off the END of the log is only
detectable against a head hash kept elsewhere (each erasure receipt carries one).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from serve.memory.hashing import Keyring
from serve.memory.types import AuditEntry, AuditReport

GENESIS = "0" * 64
_COLS = "seq, ts, actor, action, session_ref, version, reason, details, prev_hash, entry_hash"


def _payload(seq: int, ts: float, actor: str, action: str, session_ref: str, version: int,
             reason: str, details: str) -> str:
    return json.dumps([seq, ts, actor, action, session_ref, version, reason, details],
                      ensure_ascii=False, separators=(",", ":"))


def canonical_details(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def append_entry(conn: sqlite3.Connection, keys: Keyring, actor: str, action: str,
                 session_ref: str, version: int, reason: str,
                 details: dict[str, Any]) -> AuditEntry:
    """Add one entry (inside the caller's write transaction) and return it."""
    row = conn.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    ts = time.time()
    text = canonical_details(details)
    entry_hash = keys.mac(b"audit", prev,
                          _payload(seq, ts, actor, action, session_ref, version, reason, text))
    conn.execute(f"INSERT INTO audit ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (seq, ts, actor, action, session_ref, version, reason, text, prev, entry_hash))
    return AuditEntry(seq, ts, actor, action, session_ref, version, reason, details, prev,
                      entry_hash)


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    seq, ts, actor, action, ref, version, reason, details, prev, h = row
    return AuditEntry(seq, ts, actor, action, ref, version, reason, json.loads(details), prev, h)


def read_entries(conn: sqlite3.Connection, session_ref: str | None = None,
                 limit: int | None = None) -> list[AuditEntry]:
    """Entries in order (one session's, or all)."""
    where, args = ("WHERE session_ref = ?", [session_ref]) if session_ref else ("", [])
    sql = f"SELECT {_COLS} FROM audit {where} ORDER BY seq"
    rows = conn.execute(sql, args).fetchall()
    out = [_entry(r) for r in rows]
    return out[-limit:] if limit else out


def verify(conn: sqlite3.Connection, keys: Keyring) -> AuditReport:
    """Recompute every link; report the first entry whose hash, predecessor or sequence
    number does not match."""
    prev, expected_seq, n = GENESIS, 1, 0
    for row in conn.execute(f"SELECT {_COLS} FROM audit ORDER BY seq"):
        seq, ts, actor, action, ref, version, reason, details, prev_hash, h = row
        n += 1
        if seq != expected_seq:
            return AuditReport(False, n, prev, seq, f"entry {expected_seq} is missing")
        if prev_hash != prev:
            return AuditReport(False, n, prev, seq, "prev_hash does not match the chain")
        want = keys.mac(b"audit", prev,
                        _payload(seq, ts, actor, action, ref, version, reason, details))
        if want != h:
            return AuditReport(False, n, prev, seq, "entry hash does not match its contents")
        prev, expected_seq = h, seq + 1
    return AuditReport(True, n, prev)
