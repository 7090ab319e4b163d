"""The SQLite layout of the memory store, and how a connection is opened.

A version's contents are MVCC intervals: ``membership`` holds one row per (item, interval)
with ``from_v <= v < to_v`` (``to_v`` NULL = still in the head). Kinds: ``m`` message,
``t`` tombstone of an erased message, ``s`` summary, ``p`` a summary being recomputed by
an erasure. Message and summary text lives in one row each (``messages``, ``summaries``),
so erasing it is one secure delete, and no version holds a copy.

``secure_delete`` makes SQLite overwrite deleted records with zeros; WAL keeps old page
images in the ``-wal`` file until a checkpoint, so erasure ends with
``wal_checkpoint(TRUNCATE)`` (``SqliteStore.checkpoint``) before its verification scan.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  pk INTEGER PRIMARY KEY, owner TEXT NOT NULL, session_id TEXT NOT NULL,
  head INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL, updated REAL NOT NULL, expires_at REAL,
  UNIQUE (owner, session_id));
CREATE TABLE IF NOT EXISTS messages (
  session_pk INTEGER NOT NULL, msg_id TEXT NOT NULL, seq INTEGER NOT NULL,
  role TEXT NOT NULL, content TEXT NOT NULL, ts REAL NOT NULL, salt BLOB NOT NULL,
  expires_at REAL, PRIMARY KEY (session_pk, msg_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_expiry ON messages (expires_at)
  WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS summaries (
  session_pk INTEGER NOT NULL, sum_id TEXT NOT NULL, level INTEGER NOT NULL,
  content TEXT NOT NULL, sources TEXT NOT NULL, children TEXT NOT NULL,
  summarizer TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  salt BLOB NOT NULL, PRIMARY KEY (session_pk, sum_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
  session_pk INTEGER NOT NULL, msg_id TEXT NOT NULL, seq INTEGER NOT NULL,
  erasure_id TEXT NOT NULL, erased_at REAL NOT NULL,
  PRIMARY KEY (session_pk, msg_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS membership (
  session_pk INTEGER NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL,
  from_v INTEGER NOT NULL, to_v INTEGER);
CREATE INDEX IF NOT EXISTS membership_open ON membership (session_pk, to_v, from_v);
CREATE INDEX IF NOT EXISTS membership_item ON membership (session_pk, item_id);
CREATE TABLE IF NOT EXISTS versions (
  session_pk INTEGER NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL,
  actor TEXT NOT NULL, ts REAL NOT NULL, reason TEXT NOT NULL, state_hash TEXT NOT NULL,
  n_messages INTEGER NOT NULL, n_summaries INTEGER NOT NULL,
  PRIMARY KEY (session_pk, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  session_ref TEXT NOT NULL, version INTEGER NOT NULL, reason TEXT NOT NULL,
  details TEXT NOT NULL, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_session ON audit (session_ref, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def connect(path: Path, timeout_s: float = 10.0) -> sqlite3.Connection:
    """One connection with the store's pragmas (autocommit; callers open transactions)."""
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    return conn


def init_db(conn: sqlite3.Connection) -> None:
    """Create the tables (idempotent) and record the schema version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in _statements(DDL):
            conn.execute(stmt)
        conn.execute("INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', ?)",
                     (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(ddl: str) -> list[str]:
    """Split the DDL into statements (triggers contain ``;`` inside BEGIN ... END)."""
    out, buf = [], ""
    for line in ddl.strip().splitlines():
        buf += line + "\n"
        if line.rstrip().endswith(";") and (buf.count("BEGIN") == buf.count("END;")):
            out.append(buf.strip())
            buf = ""
    return out
