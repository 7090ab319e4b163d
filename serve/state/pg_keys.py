"""API keys in PostgreSQL: the SQLite ``KeyStore``'s directory, shared by every replica.

Tables ``{ns}_api_keys`` (the SQLite columns; salt and hash as bytea) and
``{ns}_keys_version`` (one row). A statement-level trigger bumps the version on every
INSERT, UPDATE, DELETE or TRUNCATE of the keys table, in the same transaction, whoever
commits it (``lmroute serve keys revoke``, another replica, a DBA in psql). Each
``authenticate`` reads the version (one indexed single-row read) before it trusts its cache:
PostgreSQL's equivalent of SQLite's ``PRAGMA data_version``, so a revocation applies on
the next request of every replica, as with SQLite. (LISTEN/NOTIFY would save that read
but delivers asynchronously: a revoked key could pass in the window.)

Connections: one per worker thread (psycopg, autocommit), reopened after a failure.

Degraded (PostgreSQL unreachable): a key whose record this replica cached less than
``cache_ttl_s`` ago keeps working (nothing can revoke it while the directory is down for
this replica: a revocation committed meanwhile applies at the first lookup once the
connection is back); any other key is refused with 503 ``state_unavailable``, never let
through unchecked.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from serve.keys import CachedKey, CachedKeyLookup, KeyRecord, new_key_row
from serve.state.base import KEY_DIRECTORIES, KeyDirectory, StateUnavailable, register
from serve.state.connection import Breaker

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS {ns}_api_keys (
  key_id TEXT PRIMARY KEY, name TEXT NOT NULL, salt BYTEA NOT NULL, hash BYTEA NOT NULL,
  allowed_models TEXT, daily_budget_usd DOUBLE PRECISION, created_utc TEXT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS {ns}_keys_version (
  id INTEGER PRIMARY KEY CHECK (id = 1), v BIGINT NOT NULL);
INSERT INTO {ns}_keys_version (id, v) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION {ns}_keys_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE {ns}_keys_version SET v = v + 1 WHERE id = 1; RETURN NULL; END $$;
CREATE OR REPLACE TRIGGER {ns}_keys_changed AFTER INSERT OR UPDATE OR DELETE
  ON {ns}_api_keys FOR EACH STATEMENT EXECUTE FUNCTION {ns}_keys_bump();
CREATE OR REPLACE TRIGGER {ns}_keys_truncated AFTER TRUNCATE
  ON {ns}_api_keys FOR EACH STATEMENT EXECUTE FUNCTION {ns}_keys_bump();
"""


def pg_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.OperationalError, psycopg.InterfaceError, OSError)


def check_namespace(ns: str) -> str:
    """A namespace becomes part of table names: letters, digits and '_' only."""
    if not ns or not all(c.isalnum() or c == "_" for c in ns) or ns[0].isdigit():
        raise ValueError(f"state.namespace: expected an SQL identifier ([A-Za-z_][A-Za-z0-9_]*) "
                         f"for PostgreSQL tables, got {ns!r}")
    return ns


@register(KEY_DIRECTORIES, "postgres")
class PostgresKeyStore(CachedKeyLookup, KeyDirectory):
    """Keys in PostgreSQL (see module); ``dsn``: ``postgresql://user@host:port/db``."""

    def __init__(self, dsn: str, namespace: str = "lmroute", cache_ttl_s: float = 30.0,
                 timeout_s: float = 0.5, reconnect_s: float = 1.0) -> None:
        self.dsn = dsn
        self.ns = check_namespace(namespace)
        self.cache_ttl_s = cache_ttl_s
        self.timeout_s = timeout_s
        self._cache: dict[str, CachedKey] = {}
        self._data_version = -1
        self._local = threading.local()
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        self.breaker = Breaker(f"PostgreSQL keys at {_redact(dsn)}", reconnect_s, pg_errors())
        self.served_from_cache = 0  # lookups answered from the cache while PostgreSQL was down
        self._ddl_done = False

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.dsn, autocommit=True,
                               connect_timeout=max(1, round(self.timeout_s * 4)),
                               options=f"-c statement_timeout={int(self.timeout_s * 1000)}")
        if not self._ddl_done:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.ns}_keys",))
                conn.execute(DDL.format(ns=self.ns))
            self._ddl_done = True
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._conns.append(conn)
        return conn

    def _sql(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        """Run one statement on this thread's connection (through the breaker)."""

        def go() -> Any:
            try:
                return self._conn().execute(query.format(ns=self.ns), params)
            except pg_errors():
                self._local.conn = None  # reopened on the next call
                raise

        return self.breaker.call(go)

    # -- CachedKeyLookup -----------------------------------------------------------------
    def _version(self) -> int:
        return int(self._sql("SELECT v FROM {ns}_keys_version WHERE id = 1").fetchone()[0])

    def _load(self, key_id: str) -> CachedKey | None:
        row = self._sql("SELECT name, salt, hash, allowed_models, daily_budget_usd FROM "
                        "{ns}_api_keys WHERE key_id = %s AND NOT revoked", (key_id,)).fetchone()
        if row is None:
            return None
        models = json.loads(row[3]) if row[3] else None
        rec = KeyRecord(key_id, row[0], frozenset(models) if models else None, row[4])
        return time.monotonic(), rec, bytes(row[1]), bytes(row[2])

    def authenticate(self, key: str) -> KeyRecord | None:
        try:
            return super().authenticate(key)
        except StateUnavailable:
            record = self.cached_only(key)
            if record is None:
                raise
            self.served_from_cache += 1
            return record

    # -- the CLI's methods ---------------------------------------------------------------
    def create_key(self, name: str, allowed_models: list[str] | None = None,
                   daily_budget_usd: float | None = None) -> str:
        plain, row = new_key_row(name, allowed_models, daily_budget_usd)
        self._sql("INSERT INTO {ns}_api_keys (key_id, name, salt, hash, allowed_models, "
                  "daily_budget_usd, created_utc) VALUES (%s, %s, %s, %s, %s, %s, %s)", row)
        return plain

    def revoke(self, key_id: str) -> bool:
        cur = self._sql("UPDATE {ns}_api_keys SET revoked = TRUE WHERE key_id = %s", (key_id,))
        self._cache.pop(key_id, None)
        return bool(cur.rowcount)

    def list_keys(self) -> list[dict[str, object]]:
        rows = self._sql("SELECT key_id, name, allowed_models, daily_budget_usd, revoked "
                         "FROM {ns}_api_keys ORDER BY created_utc").fetchall()
        return [{"key_id": r[0], "name": r[1], "allowed_models": json.loads(r[2] or "null"),
                 "daily_budget_usd": r[3], "revoked": bool(r[4])} for r in rows]

    def describe(self) -> dict[str, object]:
        return {"kind": "postgres", **self.breaker.describe(),
                "served_from_cache": self.served_from_cache}

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            c.close()


def _redact(dsn: str) -> str:
    """The DSN without a password (it goes to logs)."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
