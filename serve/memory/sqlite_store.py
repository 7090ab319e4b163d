"""The SQLite memory store (WAL, secure_delete; one connection per thread, writers
serialised by ``BEGIN IMMEDIATE``). Layout: ``sqlite_schema.py``; erasure:
``sqlite_erase.py``."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from serve.memory import audit as audit_log
from serve.memory import sqlite_erase as erase_ops
from serve.memory.errors import Conflict, InvalidInput, NotFound
from serve.memory.hashing import Keyring, add_hash, load_key, new_salt, sub_hash
from serve.memory.sqlite_schema import connect, init_db
from serve.memory.sqlite_state import (
    check_version,
    item_hashes,
    load_state,
    message_hash,
    new_version,
    prune,
    session_row,
    transaction,
    version_row,
)
from serve.memory.store import ErasureStart, Expired, MemoryStore
from serve.memory.types import (
    AuditEntry,
    AuditReport,
    Message,
    NewMessage,
    SessionState,
    StoreScan,
    Summary,
    VersionInfo,
    VersionRewrite,
)

log = logging.getLogger(__name__)


class SqliteStore(MemoryStore):
    """``path``: the database file; the secret key comes from ``$LMROUTE_MEMORY_KEY`` or
    ``key_file`` (default: ``<path>.key``, created once, mode 0600)."""

    def __init__(self, path: str | Path, key: bytes | None = None,
                 key_file: str | Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kf = Path(key_file) if key_file else self.path.with_name(self.path.name + ".key")
        self.keys = Keyring(key if key is not None else load_key(kf))
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        init_db(self._conn())

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _ref(self, owner: str, session_id: str) -> str:
        return self.keys.session_ref(owner, session_id)

    # -- reads ---------------------------------------------------------------------------
    def head(self, owner: str, session_id: str) -> SessionState:
        conn = self._conn()
        pk, head, _ = session_row(conn, owner, session_id)
        return load_state(conn, pk, session_id, head)

    def state_at(self, owner: str, session_id: str, version: int) -> SessionState:
        conn = self._conn()
        pk, _, _ = session_row(conn, owner, session_id)
        check_version(conn, pk, session_id, version)
        return load_state(conn, pk, session_id, version)

    def head_version(self, owner: str, session_id: str) -> int:
        return session_row(self._conn(), owner, session_id)[1]

    def versions(self, owner: str, session_id: str) -> list[VersionInfo]:
        conn = self._conn()
        pk, _, _ = session_row(conn, owner, session_id)
        return [VersionInfo(*r) for r in conn.execute(
            "SELECT version, action, actor, ts, reason, state_hash, n_messages, n_summaries "
            "FROM versions WHERE session_pk = ? ORDER BY version", (pk,))]

    def sessions(self, owner: str) -> list[str]:
        return [r[0] for r in self._conn().execute(
            "SELECT session_id FROM sessions WHERE owner = ? ORDER BY session_id", (owner,))]

    def all_summaries(self, owner: str, session_id: str) -> list[Summary]:
        conn = self._conn()
        pk, _, _ = session_row(conn, owner, session_id)
        return erase_ops.all_summaries(conn, pk)

    def messages_by_id(self, owner: str, session_id: str,
                       ids: Sequence[str]) -> dict[str, Message]:
        conn = self._conn()
        pk, _, _ = session_row(conn, owner, session_id)
        return erase_ops.messages_by_id(conn, pk, ids)

    # -- edits ---------------------------------------------------------------------------
    def _ensure_session(self, conn: sqlite3.Connection, owner: str, session_id: str,
                        now: float) -> tuple[int, int, int]:
        try:
            return session_row(conn, owner, session_id)
        except NotFound:
            conn.execute("INSERT INTO sessions (owner, session_id, created, updated) VALUES "
                         "(?,?,?,?)", (owner, session_id, now, now))
            return session_row(conn, owner, session_id)

    def append(self, owner: str, session_id: str, messages: Sequence[NewMessage], actor: str,
               reason: str = "append", session_ttl_s: float | None = None) -> VersionInfo:
        if not messages:
            raise InvalidInput("messages: expected at least one message to append")
        now, conn = time.time(), self._conn()
        with transaction(conn):
            pk, head, seq = self._ensure_session(conn, owner, session_id, now)
            h, n_msg, n_sum = version_row(conn, pk, head)
            v, hashes = head + 1, []
            for m in messages:
                ch = self._insert_message(conn, pk, m, seq, v, now)
                hashes.append(ch)
                h = add_hash(h, self.keys.item("m", m.id, seq, ch))
                seq += 1
            counts = (h, n_msg + len(messages), n_sum)
            new_version(conn, pk, v, "append", actor, reason, now, counts)
            expires = now + session_ttl_s if session_ttl_s else None
            conn.execute("UPDATE sessions SET next_seq = ?, expires_at = COALESCE(?, "
                         "expires_at) WHERE pk = ?", (seq, expires, pk))
            audit_log.append_entry(conn, self.keys, actor, "append",
                                   self._ref(owner, session_id), v, reason,
                                   {"ids": [m.id for m in messages], "content_hashes": hashes})
            self._prune(conn, pk, v, owner, session_id)
        return VersionInfo(v, "append", actor, now, reason, h, counts[1], n_sum)

    def _insert_message(self, conn: sqlite3.Connection, pk: int, m: NewMessage, seq: int,
                        v: int, now: float) -> str:
        if conn.execute("SELECT 1 FROM tombstones WHERE session_pk = ? AND msg_id = ?",
                        (pk, m.id)).fetchone():
            raise InvalidInput(f"message id {m.id!r}: already used by an erased message")
        salt = new_salt()
        expires = now + m.ttl_s if m.ttl_s else None
        try:
            conn.execute("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?)",
                         (pk, m.id, seq, m.role, m.content, m.ts, salt, expires))
        except sqlite3.IntegrityError as exc:
            raise InvalidInput(f"message id {m.id!r}: already in this session") from exc
        conn.execute("INSERT INTO membership VALUES (?, 'm', ?, ?, NULL)", (pk, m.id, v))
        return message_hash(self.keys, salt, m.role, m.content)

    def _prune(self, conn: sqlite3.Connection, pk: int, head: int, owner: str,
               session_id: str) -> None:
        dropped = prune(conn, pk, head)
        if dropped:
            audit_log.append_entry(conn, self.keys, "system:retention", "prune",
                                   self._ref(owner, session_id), head,
                                   "older than the last 100 versions",
                                   {"items": [f"{k}:{i}" for k, i in dropped]})

    def rollback(self, owner: str, session_id: str, version: int, actor: str,
                 reason: str) -> VersionInfo:
        if not reason.strip():
            raise InvalidInput("reason: a rollback needs a reason")
        now, conn = time.time(), self._conn()
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            check_version(conn, pk, session_id, version)
            v = head + 1
            cur = set(conn.execute("SELECT kind, item_id FROM membership WHERE session_pk = ? "
                                   "AND to_v IS NULL", (pk,)).fetchall())
            target = set(conn.execute(
                "SELECT kind, item_id FROM membership b WHERE b.session_pk = ? AND "
                "b.from_v <= ? AND (b.to_v IS NULL OR b.to_v > ?)", (pk, version, version)))
            for kind, ident in cur - target:
                conn.execute("UPDATE membership SET to_v = ? WHERE session_pk = ? AND kind = ? "
                             "AND item_id = ? AND to_v IS NULL", (v, pk, kind, ident))
            conn.executemany("INSERT INTO membership VALUES (?,?,?,?,NULL)",
                             [(pk, k, i, v) for k, i in sorted(target - cur)])
            counts = version_row(conn, pk, version)
            new_version(conn, pk, v, "rollback", actor, reason, now, counts)
            audit_log.append_entry(conn, self.keys, actor, "rollback",
                                   self._ref(owner, session_id), v, reason,
                                   {"to_version": version, "state_hash": counts[0]})
            self._prune(conn, pk, v, owner, session_id)
        return VersionInfo(v, "rollback", actor, now, reason, *counts)

    def apply_compaction(self, owner: str, session_id: str, add: Sequence[Summary],
                         remove: Sequence[str], actor: str,
                         stored: Sequence[Summary] = ()) -> VersionInfo:
        now, conn = time.time(), self._conn()
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            open_ = set(conn.execute("SELECT kind, item_id FROM membership WHERE session_pk = ? "
                                     "AND to_v IS NULL", (pk,)).fetchall())
            add = [s for s in add if ("s", s.id) not in open_]
            known = {r[0] for r in conn.execute("SELECT sum_id FROM summaries WHERE "
                                                "session_pk = ?", (pk,))}
            _check_compaction(open_, known, [*add, *stored], remove)
            for s in stored:
                erase_ops.insert_summary(conn, self.keys, pk, s)
            h, n_msg, n_sum = version_row(conn, pk, head)
            v = head + 1
            removed = item_hashes(conn, self.keys, pk, [("s", i) for i in remove])
            for ident in remove:
                conn.execute("UPDATE membership SET to_v = ? WHERE session_pk = ? AND kind = 's' "
                             "AND item_id = ? AND to_v IS NULL", (v, pk, ident))
                h = sub_hash(h, removed[("s", ident)])
            added = []
            for s in add:
                ch = erase_ops.insert_summary(conn, self.keys, pk, s)
                conn.execute("INSERT INTO membership VALUES (?, 's', ?, ?, NULL)", (pk, s.id, v))
                h = add_hash(h, self.keys.item("s", s.id, 0, ch))
                added.append({"id": s.id, "level": s.level, "sources": list(s.sources),
                              "children": list(s.children), "content_hash": ch})
            counts = (h, n_msg, n_sum + len(add) - len(remove))
            new_version(conn, pk, v, "compact", actor, "compaction", now, counts)
            audit_log.append_entry(conn, self.keys, actor, "compact",
                                   self._ref(owner, session_id), v, "compaction",
                                   {"added": added, "removed": list(remove),
                                    "stored": [s.id for s in stored]})
            self._prune(conn, pk, v, owner, session_id)
        return VersionInfo(v, "compact", actor, now, "compaction", *counts)

    def set_ttl(self, owner: str, session_id: str, ttl_s: float | None, actor: str,
                message_id: str | None = None) -> float | None:
        if ttl_s is not None and not ttl_s > 0:
            raise InvalidInput(f"ttl_s: expected a number of seconds > 0, got {ttl_s}")
        now, conn = time.time(), self._conn()
        expires = now + ttl_s if ttl_s is not None else None
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            if message_id is None:
                conn.execute("UPDATE sessions SET expires_at = ? WHERE pk = ?", (expires, pk))
            elif conn.execute("UPDATE messages SET expires_at = ? WHERE session_pk = ? AND "
                              "msg_id = ?", (expires, pk, message_id)).rowcount == 0:
                raise NotFound(f"message {message_id!r} of session {session_id!r}: not found")
            audit_log.append_entry(conn, self.keys, actor, "ttl", self._ref(owner, session_id),
                                   head, f"ttl {ttl_s} s",
                                   {"message_id": message_id, "expires_at": expires})
        return expires

    # -- erasure -------------------------------------------------------------------------
    def erase_messages(self, owner: str, session_id: str, ids: Sequence[str], actor: str,
                       reason: str, scope: str) -> ErasureStart:
        conn = self._conn()
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            return erase_ops.erase_messages(conn, self.keys, pk, head, ids,
                                            (actor, reason, scope, self._ref(owner, session_id)))

    def complete_erasure(self, owner: str, session_id: str, start: ErasureStart,
                         replacements: dict[str, Summary | None],
                         actor: str) -> tuple[list[VersionRewrite], dict[str, str]]:
        conn = self._conn()
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            return erase_ops.complete_erasure(conn, self.keys, pk, head, start, replacements,
                                              (actor, self._ref(owner, session_id)))

    def drop_session(self, owner: str, session_id: str, actor: str, reason: str,
                     scope: str) -> tuple[str, list[Message], list[Summary], str]:
        conn = self._conn()
        with transaction(conn):
            pk, head, _ = session_row(conn, owner, session_id)
            return erase_ops.drop_session(conn, self.keys, pk, head,
                                          (actor, reason, scope, self._ref(owner, session_id)))

    def expired(self, now: float) -> list[Expired]:
        return erase_ops.expired(self._conn(), now)

    # -- audit and verification ----------------------------------------------------------
    def audit(self, owner: str, session_id: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        conn = self._conn()
        if session_id is not None:
            return audit_log.read_entries(conn, self._ref(owner, session_id), limit)
        refs = {self._ref(owner, s) for s in self.sessions(owner)}
        out = [e for e in audit_log.read_entries(conn) if e.session_ref in refs
               or e.actor == owner]
        return out[-limit:] if limit else out

    def verify_audit(self) -> AuditReport:
        return audit_log.verify(self._conn(), self.keys)

    def record(self, owner: str, session_id: str, actor: str, action: str, reason: str,
               details: dict[str, object]) -> AuditEntry:
        conn = self._conn()
        with transaction(conn):
            row = conn.execute("SELECT head FROM sessions WHERE owner = ? AND session_id = ?",
                               (owner, session_id)).fetchone()
            return audit_log.append_entry(conn, self.keys, actor, action,
                                          self._ref(owner, session_id), row[0] if row else -1,
                                          reason, dict(details))

    def message_texts(self) -> list[str]:
        return erase_ops.message_texts(self._conn())

    def checkpoint(self) -> None:
        for _ in range(50):
            busy, _, _ = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.02)
        raise Conflict("wal_checkpoint(TRUNCATE) stayed busy (a long reader holds the WAL)")

    def raw_files(self) -> list[Path]:
        return [p for p in (self.path, self.path.with_name(self.path.name + "-wal"),
                            self.path.with_name(self.path.name + "-shm")) if p.exists()]

    def scan(self, needles: Sequence[str]) -> list[StoreScan]:
        return erase_ops.scan_tables(self._conn(), needles)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _check_compaction(open_: set[tuple[str, str]], known: set[str], add: Sequence[Summary],
                      remove: Sequence[str]) -> None:
    """Every removed summary is in the head; every new one's sources are head messages and
    its children stored (or new) summaries."""
    new_ids = {s.id for s in add} | known
    for ident in remove:
        if ("s", ident) not in open_:
            raise Conflict(f"compaction: summary {ident} is no longer in the head")
    for s in add:
        for src in s.sources:
            if ("m", src) not in open_:
                raise Conflict(f"compaction: source message {src!r} is no longer in the head")
        for child in s.children:
            if child not in new_ids:
                raise Conflict(f"compaction: child summary {child} is not stored")

