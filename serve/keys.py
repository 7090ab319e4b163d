"""API keys and daily USD budgets in SQLite.

Keys look like ``lmr-<key_id>.<secret>``; only ``sha256(salt || secret)`` with a random
per-key salt is stored, and compared in constant time. Budgets are enforced atomically:
each request *reserves* its estimated cost inside one ``BEGIN IMMEDIATE`` transaction
(spent + reserved + worst case <= budget, or refused) and *settles* the measured cost
afterwards. Concurrent requests, threads or processes sharing the file can therefore
never reserve past the budget; the worst case is an upper bound on the cost (the
``Budget`` stage, serve/stages/route.py; its limits are in docs/serve.md).

All SQLite work runs on one dedicated worker thread, never on the event loop.

Authentication cache: a key's record is cached (at most ``CACHE_MAX`` keys, least recently
used evicted first) and dropped as soon as the database changes: every lookup reads
SQLite's ``PRAGMA data_version``, which moves when another connection (``lmroute serve
keys revoke`` in another process, another replica) commits, so a revocation takes effect
on the next request. ``cache_ttl_s`` bounds a cached record's age as well. Unknown,
malformed or revoked keys are never cached, and a token that cannot be a key
(``lmr-<12 hex>.<secret of at most 64 chars>``) never reaches the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from serve.errors import GatewayError

T = TypeVar("T")
log = logging.getLogger(__name__)
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY, name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
  allowed_models TEXT, daily_budget_usd REAL, created_utc TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS spend (
  key_id TEXT NOT NULL, day TEXT NOT NULL, spent_usd REAL NOT NULL DEFAULT 0,
  reserved_usd REAL NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, day));
"""
CACHE_TTL_S = 30.0
BUSY_TIMEOUT_S = 10.0  # how long a call waits for another connection's write lock
CACHE_MAX = 10_000
_KEY = re.compile(r"lmr-([0-9a-f]{12})\.([A-Za-z0-9_-]{1,64})")


@dataclass(frozen=True)
class KeyRecord:
    """A key as the gateway sees it (never the secret)."""

    key_id: str
    name: str
    allowed_models: frozenset[str] | None  # None = every model
    daily_budget_usd: float | None  # None = unlimited

    def allows(self, model: str) -> bool:
        """May this key use ``model``? (The one place the rule lives.)"""
        return self.allowed_models is None or model in self.allowed_models

    def allows_any(self, models: list[str]) -> bool:
        return self.allowed_models is None or any(m in self.allowed_models for m in models)


def utc_day() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


CachedKey = tuple[float, KeyRecord, bytes, bytes]  # (loaded at, record, salt, hash)


class CachedKeyLookup:
    """``authenticate`` with the cache described in the module; a store gives ``_version``
    (moves whenever any connection commits a change) and ``_load`` (a live key's row)."""

    cache_ttl_s: float = CACHE_TTL_S
    _cache: dict[str, CachedKey]  # key_id -> cached; insertion order = recency (LRU)
    _data_version: int = -1

    def _version(self) -> int:
        raise NotImplementedError

    def _load(self, key_id: str) -> CachedKey | None:
        raise NotImplementedError

    def authenticate(self, key: str) -> KeyRecord | None:
        """The key's record, or None when unknown, malformed or revoked."""
        m = _KEY.fullmatch(key)
        if m is None:
            return None
        key_id, secret = m.group(1), m.group(2)
        self._drop_cache_if_changed()
        hit = self._cache.pop(key_id, None)
        if hit is None or time.monotonic() - hit[0] > self.cache_ttl_s:
            hit = self._load(key_id)
            if hit is None:
                return None
        self._cache[key_id] = hit  # (re)inserted last: most recently used
        if len(self._cache) > CACHE_MAX:
            del self._cache[next(iter(self._cache))]
        _, record, salt, digest = hit
        return record if hmac.compare_digest(_hash(salt, secret), digest) else None

    def cached_only(self, key: str) -> KeyRecord | None:
        """The record of ``key`` if it was cached less than ``cache_ttl_s`` ago and the
        secret matches, without asking the store (a shared store that is down)."""
        m = _KEY.fullmatch(key)
        hit = self._cache.get(m.group(1)) if m else None
        if m is None or hit is None or time.monotonic() - hit[0] > self.cache_ttl_s:
            return None
        return hit[1] if hmac.compare_digest(_hash(hit[2], m.group(2)), hit[3]) else None

    def _drop_cache_if_changed(self) -> None:
        """Empty the cache when another connection committed since the last lookup."""
        version = self._version()
        if version != self._data_version:
            self._cache.clear()
            self._data_version = version


def new_key_material() -> tuple[str, str, bytes]:
    """(key_id, secret, salt) of a new key; its plaintext is ``lmr-<key_id>.<secret>``."""
    return secrets.token_hex(6), secrets.token_urlsafe(24), secrets.token_bytes(16)


def key_hash(salt: bytes, secret: str) -> bytes:
    return _hash(salt, secret)


def new_key_row(name: str, allowed_models: list[str] | None, daily_budget_usd: float | None
                ) -> tuple[str, tuple[Any, ...]]:
    """(plaintext key, the api_keys row: key_id, name, salt, hash, allowed_models,
    daily_budget_usd, created_utc) of a new key, for every key directory."""
    if daily_budget_usd is not None and daily_budget_usd < 0:
        raise ValueError(f"daily_budget_usd: expected >= 0, got {daily_budget_usd}")
    key_id, secret, salt = new_key_material()
    models = json.dumps(sorted(allowed_models)) if allowed_models else None
    row = (key_id, name, salt, _hash(salt, secret), models, daily_budget_usd,
           datetime.now(UTC).isoformat())
    return f"lmr-{key_id}.{secret}", row


class KeyStore(CachedKeyLookup):
    """SQLite-backed keys and spend; sync methods for the CLI, async ones for the app."""

    def __init__(self, path: str | Path, cache_ttl_s: float = CACHE_TTL_S) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.cache_ttl_s = cache_ttl_s
        self._conn: sqlite3.Connection | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._cache: dict[str, CachedKey] = {}
        self._data_version = -1

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_S)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA_SQL)
            self._conn = conn
        return self._conn

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the store's single worker thread. The database locked past
        the busy timeout (``BUSY_TIMEOUT_S``), or unreadable, is a 503 with Retry-After
        (``state_unavailable``): the request fails closed, never as a 500."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystore")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            log.error("API-key store %s unusable: %s", self.path, exc)
            raise GatewayError(503, "The API-key store is unavailable (locked or unreadable);"
                               " try again shortly.", type_="service_unavailable",
                               code="state_unavailable", headers={"retry-after": "1"}
                               ) from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def create_key(self, name: str, allowed_models: list[str] | None = None,
                   daily_budget_usd: float | None = None) -> str:
        """Create a key; returns the plaintext key (shown once, never stored)."""
        plain, row = new_key_row(name, allowed_models, daily_budget_usd)
        self._db().execute(
            "INSERT INTO api_keys (key_id, name, salt, hash, allowed_models, daily_budget_usd,"
            " created_utc) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        return plain

    def revoke(self, key_id: str) -> bool:
        cur = self._db().execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
        self._cache.pop(key_id, None)
        return cur.rowcount > 0

    def list_keys(self) -> list[dict[str, object]]:
        rows = self._db().execute(
            "SELECT k.key_id, k.name, k.allowed_models, k.daily_budget_usd, k.revoked,"
            " COALESCE(s.spent_usd, 0) FROM api_keys k LEFT JOIN spend s"
            " ON s.key_id = k.key_id AND s.day = ?", (utc_day(),)).fetchall()
        return [{"key_id": r[0], "name": r[1], "allowed_models": json.loads(r[2] or "null"),
                 "daily_budget_usd": r[3], "revoked": bool(r[4]), "spent_today_usd": r[5]}
                for r in rows]

    def _version(self) -> int:
        return int(self._db().execute("PRAGMA data_version").fetchone()[0])

    def _load(self, key_id: str) -> CachedKey | None:
        row = self._db().execute(
            "SELECT name, salt, hash, allowed_models, daily_budget_usd FROM api_keys"
            " WHERE key_id = ? AND revoked = 0", (key_id,)).fetchone()
        if row is None:
            return None
        models = json.loads(row[3]) if row[3] else None
        rec = KeyRecord(key_id, row[0], frozenset(models) if models else None, row[4])
        return time.monotonic(), rec, row[1], row[2]

    def reserve(self, record: KeyRecord, amount_usd: float, day: str) -> bool:
        """Atomically reserve ``amount_usd`` of today's budget; False = over budget."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT spent_usd + reserved_usd FROM spend WHERE key_id = ?"
                             " AND day = ?", (record.key_id, day)).fetchone()
            used = row[0] if row else 0.0
            budget = record.daily_budget_usd
            if budget is not None and used + amount_usd > budget * (1 + 1e-9):
                db.execute("ROLLBACK")
                return False
            db.execute("INSERT INTO spend (key_id, day, reserved_usd, requests) VALUES (?,?,?,1)"
                       " ON CONFLICT (key_id, day) DO UPDATE SET"
                       " reserved_usd = reserved_usd + excluded.reserved_usd,"
                       " requests = requests + 1", (record.key_id, day, amount_usd))
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def settle(self, key_id: str, day: str, reserved_usd: float, actual_usd: float) -> None:
        """Replace a reservation by the measured cost (one transaction)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE spend SET reserved_usd = MAX(0, reserved_usd - ?),"
                   " spent_usd = spent_usd + ? WHERE key_id = ? AND day = ?",
                   (reserved_usd, actual_usd, key_id, day))
        db.execute("COMMIT")

    def spent(self, key_id: str, day: str | None = None) -> tuple[float, float]:
        """(spent_usd, reserved_usd) for a key on a UTC day (default today)."""
        row = self._db().execute("SELECT spent_usd, reserved_usd FROM spend WHERE key_id = ?"
                                 " AND day = ?", (key_id, day or utc_day())).fetchone()
        return (float(row[0]), float(row[1])) if row else (0.0, 0.0)
