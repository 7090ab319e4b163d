"""A psycopg connection that speaks the SQLite dialect of the memory store's SQL (issue #16).

The memory's SQL (``sqlite_store.py``, ``sqlite_state.py``, ``sqlite_erase.py``,
``audit.py``) is written for ``sqlite3``; ``PgConnection`` runs the same statements on
PostgreSQL so the PostgreSQL store (``store_pg.py``) reuses every rule instead of copying
it. Translation (cached per statement): ``?`` -> ``%s`` (literal ``%`` doubled),
``INSERT OR IGNORE`` -> ``INSERT ... ON CONFLICT DO NOTHING``, ``instr(`` -> ``strpos(``.
``BEGIN IMMEDIATE`` (SQLite: one writer at a time) becomes ``BEGIN`` plus a transaction
advisory lock on the store's key, so writers are serialised across every replica exactly
as SQLite serialises them across processes; reads take no lock (each statement sees the
last committed state). A unique-key violation is raised as ``sqlite3.IntegrityError``, which
is what the store's code catches.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

_PARAM = re.compile(r"\?")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """The PostgreSQL form of one SQLite statement of the memory store."""
    out = sql.replace("%", "%%")
    out = _PARAM.sub("%s", out)
    out = out.replace("instr(", "strpos(")
    if "INSERT OR IGNORE INTO" in out:
        out = out.replace("INSERT OR IGNORE INTO", "INSERT INTO").rstrip().rstrip(";")
        out += " ON CONFLICT DO NOTHING"
    if out.lstrip().upper().startswith("PRAGMA"):
        raise ValueError(f"SQLite pragma has no PostgreSQL form: {sql!r}")
    return out


class PgConnection:
    """``sqlite3.Connection``'s ``execute`` / ``executemany`` / ``close`` over psycopg
    (autocommit; the caller's BEGIN ... COMMIT make the transactions)."""

    def __init__(self, conn: Any, lock_key: int) -> None:
        self.conn = conn
        self.lock_key = lock_key

    def execute(self, sql: str, params: Sequence[Any] | Iterable[Any] = ()) -> Any:
        import psycopg

        head = sql.strip().upper()
        if head == "BEGIN IMMEDIATE":
            self.conn.execute("BEGIN")
            return self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
        try:
            return self.conn.execute(translate(sql), tuple(params))
        except psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        import psycopg

        try:
            with self.conn.cursor() as cur:
                cur.executemany(translate(sql), [tuple(r) for r in rows])
        except psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    def close(self) -> None:
        self.conn.close()
