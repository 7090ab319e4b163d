"""Erasure inside SQLite (helpers of ``SqliteStore``, each inside its write transaction).

Phase 1 (``erase_messages``): the message rows are deleted (secure_delete zeroes them),
every summary whose provenance includes them, directly or through child summaries, is
deleted, every retained version's interval for an erased message becomes a tombstone and
for a deleted summary a placeholder (``p``), and every version's state hash is rewritten.
Phase 2 (``complete_erasure``): the recomputed summaries take the placeholders' places.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence

from serve.memory import audit as audit_log
from serve.memory.errors import Conflict, NotFound
from serve.memory.hashing import Keyring, add_hash, new_salt, sub_hash
from serve.memory.sqlite_state import (
    message_hash,
    new_version,
    summary_from_row,
    summary_hash,
    version_row,
)
from serve.memory.store import AffectedSummary, ErasureStart, Expired
from serve.memory.types import Message, StoreScan, Summary, VersionRewrite
from serve.memory.verify import normalise

# (actor, reason, scope, session_ref) and (actor, session_ref)
Who = tuple[str, str, str, str]

SCANNED = (("messages", "content"), ("messages", "msg_id"), ("summaries", "content"),
           ("tombstones", "msg_id"), ("membership", "item_id"), ("versions", "reason"),
           ("audit", "reason"), ("audit", "details"), ("sessions", "session_id"),
           ("meta", "v"))


def all_summaries(conn: sqlite3.Connection, pk: int) -> list[Summary]:
    return [summary_from_row(r) for r in conn.execute(
        "SELECT sum_id, level, content, sources, children, summarizer, first_seq, last_seq "
        "FROM summaries WHERE session_pk = ? ORDER BY level, first_seq", (pk,))]


def messages_by_id(conn: sqlite3.Connection, pk: int, ids: Sequence[str]) -> dict[str, Message]:
    out = {}
    for i in range(0, len(ids), 500):
        part = list(ids[i:i + 500])
        marks = ",".join("?" * len(part))
        for r in conn.execute("SELECT msg_id, role, content, ts, seq, expires_at FROM messages "
                              f"WHERE session_pk = ? AND msg_id IN ({marks})", (pk, *part)):
            out[r[0]] = Message(*r)
    return out


def insert_summary(conn: sqlite3.Connection, keys: Keyring, pk: int, s: Summary) -> str:
    """Store a summary (content-addressed: an existing id keeps its row); its content hash."""
    conn.execute("INSERT OR IGNORE INTO summaries VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (pk, s.id, s.level, s.content, json.dumps(list(s.sources)),
                  json.dumps(list(s.children)), s.summarizer, s.first_seq, s.last_seq,
                  new_salt()))
    content, salt = conn.execute("SELECT content, salt FROM summaries WHERE session_pk = ? AND "
                                 "sum_id = ?", (pk, s.id)).fetchone()
    return summary_hash(keys, salt, content)


def affected(summaries: list[Summary], ids: set[str]) -> list[Summary]:
    """Summaries whose provenance includes ``ids``, directly or through children."""
    hit = {s.id for s in summaries if ids & set(s.sources)}
    grew = True
    while grew:
        grew = False
        for s in summaries:
            if s.id not in hit and hit & set(s.children):
                hit.add(s.id)
                grew = True
    return [s for s in summaries if s.id in hit]


class _Versions:
    """The retained versions' hashes and counts, rewritten item by item."""

    def __init__(self, conn: sqlite3.Connection, pk: int) -> None:
        self.conn, self.pk = conn, pk
        self.rows = {int(v): [h, int(n), int(s)] for v, h, n, s in conn.execute(
            "SELECT version, state_hash, n_messages, n_summaries FROM versions WHERE "
            "session_pk = ?", (pk,))}
        self.old = {v: r[0] for v, r in self.rows.items()}

    def apply(self, kind: str, ident: str, minus: str | None, plus: str | None,
              d_msg: int, d_sum: int) -> None:
        for lo, hi in self.conn.execute("SELECT from_v, to_v FROM membership WHERE "
                                        "session_pk = ? AND kind = ? AND item_id = ?",
                                        (self.pk, kind, ident)).fetchall():
            for v, row in self.rows.items():
                if lo <= v and (hi is None or v < hi):
                    row[0] = sub_hash(row[0], minus) if minus else row[0]
                    row[0] = add_hash(row[0], plus) if plus else row[0]
                    row[1] += d_msg
                    row[2] += d_sum

    def write(self) -> list[VersionRewrite]:
        out = []
        for v, (h, n, s) in sorted(self.rows.items()):
            if h != self.old[v]:
                self.conn.execute("UPDATE versions SET state_hash = ?, n_messages = ?, "
                                  "n_summaries = ? WHERE session_pk = ? AND version = ?",
                                  (h, n, s, self.pk, v))
                out.append(VersionRewrite(v, self.old[v], h))
        return out


def erase_messages(conn: sqlite3.Connection, keys: Keyring, pk: int, head: int,
                   ids: Sequence[str], who: Who) -> ErasureStart:
    actor, reason, scope, ref = who
    wanted = list(dict.fromkeys(ids))
    rows = {r[0]: r for r in _message_rows(conn, pk, wanted)}
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise NotFound(f"message {missing[0]!r}: not found in this session (or already erased)")
    erasure_id, now = secrets.token_hex(8), time.time()
    hits = affected(all_summaries(conn, pk), set(wanted))
    before = version_row(conn, pk, head)[0]
    versions = _Versions(conn, pk)
    content_hashes = []
    for ident in wanted:
        _, seq, role, content, _, _, salt = rows[ident]
        ch = message_hash(keys, salt, role, content)
        content_hashes.append(ch)
        conn.execute("INSERT INTO tombstones VALUES (?,?,?,?,?)", (pk, ident, seq, erasure_id, now))
        versions.apply("m", ident, keys.item("m", ident, seq, ch),
                       keys.item("t", ident, seq, erasure_id), -1, 0)
    removed = []
    for s in hits:
        content, salt = conn.execute("SELECT content, salt FROM summaries WHERE session_pk = ? "
                                     "AND sum_id = ?", (pk, s.id)).fetchone()
        ch = summary_hash(keys, salt, content)
        versions.apply("s", s.id, keys.item("s", s.id, 0, ch), None, 0, -1)
        removed.append(AffectedSummary(s, ch))
    rewrites = versions.write()
    _retire(conn, pk, wanted, [s.id for s in hits])
    counts = version_row(conn, pk, head)
    new_version(conn, pk, head + 1, "erase", actor, reason, now, counts)
    audit_log.append_entry(conn, keys, actor, "erase", ref, head + 1, reason, {
        "erasure_id": erasure_id, "scope": scope, "ids": wanted,
        "content_hashes": content_hashes, "summaries_removed": [s.id for s in hits],
        "versions_rewritten": len(rewrites)})
    erased = [Message(r[0], r[2], r[3], r[4], r[1], r[5]) for r in (rows[i] for i in wanted)]
    return ErasureStart(erasure_id, head + 1, erased, removed, before, counts[0], rewrites)


def _message_rows(conn: sqlite3.Connection, pk: int, ids: list[str]) -> list[tuple]:
    out = []
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        out += conn.execute("SELECT msg_id, seq, role, content, ts, expires_at, salt FROM "
                            f"messages WHERE session_pk = ? AND msg_id IN "
                            f"({','.join('?' * len(part))})", (pk, *part)).fetchall()
    return out


def _retire(conn: sqlite3.Connection, pk: int, msg_ids: list[str], sum_ids: list[str]) -> None:
    """Intervals become tombstones / placeholders; the text rows are deleted."""
    for ident in msg_ids:
        conn.execute("UPDATE membership SET kind = 't' WHERE session_pk = ? AND kind = 'm' "
                     "AND item_id = ?", (pk, ident))
        conn.execute("DELETE FROM messages WHERE session_pk = ? AND msg_id = ?", (pk, ident))
    for ident in sum_ids:
        conn.execute("UPDATE membership SET kind = 'p' WHERE session_pk = ? AND kind = 's' "
                     "AND item_id = ?", (pk, ident))
        conn.execute("DELETE FROM summaries WHERE session_pk = ? AND sum_id = ?", (pk, ident))


def complete_erasure(conn: sqlite3.Connection, keys: Keyring, pk: int, head: int,
                     start: ErasureStart, replacements: dict[str, Summary | None],
                     who: tuple[str, str]) -> tuple[list[VersionRewrite], dict[str, str]]:
    actor, ref = who
    new_ids = {s.id for s in replacements.values() if s is not None}
    versions = _Versions(conn, pk)
    done: list[tuple[str, str | None, str | None]] = []
    for old, new in replacements.items():
        if new is None:
            conn.execute("DELETE FROM membership WHERE session_pk = ? AND kind = 'p' AND "
                         "item_id = ?", (pk, old))
            done.append((old, None, None))
            continue
        _check_sources(conn, pk, new, new_ids)
        ch = insert_summary(conn, keys, pk, new)
        versions.apply("p", old, None, keys.item("s", new.id, 0, ch), 0, 1)
        conn.execute("UPDATE membership SET kind = 's', item_id = ? WHERE session_pk = ? AND "
                     "kind = 'p' AND item_id = ?", (new.id, pk, old))
        done.append((old, new.id, ch))
    rewrites = versions.write()
    audit_log.append_entry(conn, keys, actor, "erase_recompute", ref, head, "erasure",
                           {"erasure_id": start.erasure_id, "replaced": done,
                            "versions_rewritten": len(rewrites)})
    return rewrites, {old: ch for old, _, ch in done if ch is not None}


def _check_sources(conn: sqlite3.Connection, pk: int, s: Summary, new_ids: set[str]) -> None:
    for src in s.sources:
        if not conn.execute("SELECT 1 FROM messages WHERE session_pk = ? AND msg_id = ?",
                            (pk, src)).fetchone():
            raise Conflict(f"recompute: source message {src!r} is gone (erased meanwhile)")
    for child in s.children:
        if child not in new_ids and not conn.execute(
                "SELECT 1 FROM summaries WHERE session_pk = ? AND sum_id = ?",
                (pk, child)).fetchone():
            raise Conflict(f"recompute: child summary {child} is gone")


def drop_session(conn: sqlite3.Connection, keys: Keyring, pk: int, head: int,
                 who: Who) -> tuple[str, list[Message], list[Summary], str]:
    actor, reason, scope, ref = who
    rows = conn.execute("SELECT msg_id, seq, role, content, ts, expires_at, salt FROM messages "
                        "WHERE session_pk = ? ORDER BY seq", (pk,)).fetchall()
    msgs = [Message(r[0], r[2], r[3], r[4], r[1], r[5]) for r in rows]
    hashes = [message_hash(keys, r[6], r[2], r[3]) for r in rows]
    sums = all_summaries(conn, pk)
    last = version_row(conn, pk, head)[0]
    for table in ("messages", "summaries", "tombstones", "membership", "versions"):
        conn.execute(f"DELETE FROM {table} WHERE session_pk = ?", (pk,))
    conn.execute("DELETE FROM sessions WHERE pk = ?", (pk,))
    erasure_id = secrets.token_hex(8)
    audit_log.append_entry(conn, keys, actor, "erase_session", ref, head, reason, {
        "erasure_id": erasure_id, "scope": scope, "ids": [m.id for m in msgs],
        "content_hashes": hashes, "summaries_removed": [s.id for s in sums]})
    return erasure_id, msgs, sums, last


def expired(conn: sqlite3.Connection, now: float) -> list[Expired]:
    out = [Expired(o, s, None) for o, s in conn.execute(
        "SELECT owner, session_id FROM sessions WHERE expires_at <= ?", (now,))]
    whole = {(e.owner, e.session_id) for e in out}
    per: dict[tuple[str, str], list[str]] = {}
    for o, s, m in conn.execute(
            "SELECT s.owner, s.session_id, m.msg_id FROM messages m JOIN sessions s ON "
            "s.pk = m.session_pk WHERE m.expires_at <= ? ORDER BY m.seq", (now,)):
        if (o, s) not in whole:
            per.setdefault((o, s), []).append(m)
    return out + [Expired(o, s, ids) for (o, s), ids in per.items()]


def scan_tables(conn: sqlite3.Connection, needles: Sequence[str]) -> list[StoreScan]:
    """Cells of each table whose text holds a needle (case-insensitive). One normalised
    string per column is searched; only a column with a hit is searched cell by cell.
    ``where`` names the column and the needle's index, never the text."""
    low = [normalise(n) for n in needles if n]
    scanned: dict[str, int] = {}
    hits: dict[str, int] = {}
    where: dict[str, list[str]] = {}
    for table, col in SCANNED:
        cells = [str(r[0]) for r in conn.execute(f"SELECT {col} FROM {table}")]
        scanned[table] = scanned.get(table, 0) + len(cells)
        hits.setdefault(table, 0)
        where.setdefault(table, [])
        joined = normalise("\x00".join(cells))
        if not any(n in joined for n in low):
            continue
        for cell in cells:
            t = normalise(cell)
            found = [k for k, n in enumerate(low) if n in t]
            if found:
                hits[table] += 1
                where[table].append(f"{table}.{col}: n-gram #{found[0]}")
    return [StoreScan(f"sqlite:{t}", scanned[t], hits[t], "cells", where[t][:10])
            for t in scanned]


def message_texts(conn: sqlite3.Connection) -> list[str]:
    """Every stored message's content (all sessions)."""
    return [r[0] for r in conn.execute("SELECT content FROM messages")]
