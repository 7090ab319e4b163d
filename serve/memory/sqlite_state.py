"""Reading a version's state out of the MVCC intervals, item hashes, and pruning versions
older than the last ``MAX_VERSIONS`` (helpers of ``SqliteStore``; each takes a
connection inside the caller's transaction)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from serve.memory.errors import NotFound
from serve.memory.hashing import EMPTY_HASH, Keyring, add_hash
from serve.memory.store import MAX_VERSIONS
from serve.memory.types import Message, SessionState, Summary, Tombstone

VISIBLE = "b.session_pk = ? AND b.from_v <= ? AND (b.to_v IS NULL OR b.to_v > ?)"
_SUM_COLS = "s.sum_id, s.level, s.content, s.sources, s.children, s.summarizer, " \
            "s.first_seq, s.last_seq"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (one writer at a time) ... ``COMMIT``, or ``ROLLBACK`` on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def session_row(conn: sqlite3.Connection, owner: str, session_id: str) -> tuple[int, int, int]:
    """(pk, head version, next seq) of the owner's session, else ``NotFound``."""
    row = conn.execute("SELECT pk, head, next_seq FROM sessions WHERE owner = ? AND "
                       "session_id = ?", (owner, session_id)).fetchone()
    if row is None:
        raise NotFound(f"session {session_id!r}: not found")
    return int(row[0]), int(row[1]), int(row[2])


def summary_from_row(row: tuple[Any, ...]) -> Summary:
    sid, level, content, sources, children, summarizer, first, last = row
    return Summary(sid, int(level), content, tuple(json.loads(sources)),
                   tuple(json.loads(children)), summarizer, int(first), int(last))


def load_state(conn: sqlite3.Connection, pk: int, session_id: str, v: int) -> SessionState:
    """The session's messages, summaries and tombstones at version ``v``."""
    args = (pk, v, v)
    msgs = [Message(r[0], r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(
        "SELECT m.msg_id, m.role, m.content, m.ts, m.seq, m.expires_at FROM membership b "
        "JOIN messages m ON m.session_pk = b.session_pk AND m.msg_id = b.item_id "
        f"WHERE b.kind = 'm' AND {VISIBLE} ORDER BY m.seq", args)]
    sums = [summary_from_row(r) for r in conn.execute(
        f"SELECT {_SUM_COLS} FROM membership b JOIN summaries s ON s.session_pk = "
        f"b.session_pk AND s.sum_id = b.item_id WHERE b.kind = 's' AND {VISIBLE} "
        "ORDER BY s.level DESC, s.first_seq", args)]
    tombs = [Tombstone(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT t.msg_id, t.seq, t.erasure_id, t.erased_at FROM membership b JOIN tombstones "
        "t ON t.session_pk = b.session_pk AND t.msg_id = b.item_id "
        f"WHERE b.kind = 't' AND {VISIBLE} ORDER BY t.seq", args)]
    return SessionState(session_id, v, msgs, sums, tombs)


def check_version(conn: sqlite3.Connection, pk: int, session_id: str, v: int) -> None:
    row = conn.execute("SELECT 1 FROM versions WHERE session_pk = ? AND version = ?",
                       (pk, v)).fetchone()
    if row is None:
        lo, hi = conn.execute("SELECT MIN(version), MAX(version) FROM versions WHERE "
                              "session_pk = ?", (pk,)).fetchone()
        raise NotFound(f"version {v} of session {session_id!r}: not retained "
                       f"(versions {lo}..{hi} are)")


def message_hash(keys: Keyring, salt: bytes, role: str, content: str) -> str:
    return keys.mac(b"content", salt, role, content)[:32]


def summary_hash(keys: Keyring, salt: bytes, content: str) -> str:
    return keys.mac(b"summary", salt, content)[:32]


def item_hashes(conn: sqlite3.Connection, keys: Keyring, pk: int,
                items: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The state-hash contribution of each (kind, id); pending items contribute nothing."""
    out: dict[tuple[str, str], str] = {}
    for kind, ident in items:
        if kind == "m":
            seq, role, content, salt = conn.execute(
                "SELECT seq, role, content, salt FROM messages WHERE session_pk = ? AND "
                "msg_id = ?", (pk, ident)).fetchone()
            out[(kind, ident)] = keys.item("m", ident, seq,
                                           message_hash(keys, salt, role, content))
        elif kind == "t":
            seq, erasure = conn.execute("SELECT seq, erasure_id FROM tombstones WHERE "
                                        "session_pk = ? AND msg_id = ?", (pk, ident)).fetchone()
            out[(kind, ident)] = keys.item("t", ident, seq, erasure)
        elif kind == "s":
            content, salt = conn.execute("SELECT content, salt FROM summaries WHERE "
                                         "session_pk = ? AND sum_id = ?", (pk, ident)).fetchone()
            out[(kind, ident)] = keys.item("s", ident, 0, summary_hash(keys, salt, content))
    return out


def state_hash(conn: sqlite3.Connection, keys: Keyring, pk: int, v: int) -> str:
    """Recompute a version's state hash from its items."""
    items = [(k, i) for k, i in conn.execute(
        f"SELECT b.kind, b.item_id FROM membership b WHERE {VISIBLE}", (pk, v, v))]
    total = EMPTY_HASH
    for h in item_hashes(conn, keys, pk, items).values():
        total = add_hash(total, h)
    return total


def version_row(conn: sqlite3.Connection, pk: int, v: int) -> tuple[str, int, int]:
    """(state hash, messages, summaries) of version ``v`` (zeros before the first)."""
    row = conn.execute("SELECT state_hash, n_messages, n_summaries FROM versions WHERE "
                       "session_pk = ? AND version = ?", (pk, v)).fetchone()
    return (str(row[0]), int(row[1]), int(row[2])) if row else (EMPTY_HASH, 0, 0)


def new_version(conn: sqlite3.Connection, pk: int, v: int, action: str, actor: str,
                reason: str, ts: float, counts: tuple[str, int, int]) -> None:
    """Record version ``v`` with its (state hash, messages, summaries) and move the head."""
    conn.execute("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?)",
                 (pk, v, action, actor, ts, reason, *counts))
    conn.execute("UPDATE sessions SET head = ?, updated = ? WHERE pk = ?", (v, ts, pk))


def prune(conn: sqlite3.Connection, pk: int, head: int) -> list[tuple[str, str]]:
    """Drop versions older than the last MAX_VERSIONS, the intervals no retained version
    sees, and the records no interval refers to any more. Returns the dropped items."""
    cutoff = head - MAX_VERSIONS
    if cutoff < 1:
        return []
    conn.execute("DELETE FROM versions WHERE session_pk = ? AND version <= ?", (pk, cutoff))
    gone = conn.execute("SELECT kind, item_id FROM membership WHERE session_pk = ? AND "
                        "to_v IS NOT NULL AND to_v <= ?", (pk, cutoff + 1)).fetchall()
    if not gone:
        return []
    conn.execute("DELETE FROM membership WHERE session_pk = ? AND to_v IS NOT NULL AND "
                 "to_v <= ?", (pk, cutoff + 1))
    dropped = []
    for kind, ident in set(gone):
        if conn.execute("SELECT 1 FROM membership WHERE session_pk = ? AND item_id = ? "
                        "LIMIT 1", (pk, ident)).fetchone():
            continue
        if kind == "s" and conn.execute(  # still the provenance of a stored summary
                "SELECT 1 FROM summaries WHERE session_pk = ? AND instr(children, ?) > 0 "
                "LIMIT 1", (pk, f'"{ident}"')).fetchone():
            continue
        table, col = {"m": ("messages", "msg_id"), "t": ("tombstones", "msg_id"),
                      "s": ("summaries", "sum_id"), "p": ("", "")}[kind]
        if table:
            conn.execute(f"DELETE FROM {table} WHERE session_pk = ? AND {col} = ?", (pk, ident))
            dropped.append((kind, ident))
    return sorted(dropped)
