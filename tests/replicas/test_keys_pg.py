"""API keys in PostgreSQL: a key created through one replica's store authenticates on
another's; a revocation (by the store, or by plain SQL in psql) applies on the very next
lookup of every replica; while PostgreSQL is down cached keys keep working and unknown keys
are refused (never let through); it recovers without a new store."""

from __future__ import annotations

import time

import psycopg
import pytest

from serve.state.base import StateUnavailable
from serve.state.pg_keys import PostgresKeyStore
from tests.replicas.services import SERVERS, Postgres, new_postgres, remove

pytestmark = SERVERS


def test_keys_are_shared_and_revocation_applies_at_once(pg_server: Postgres, ns: str) -> None:
    a = PostgresKeyStore(pg_server.dsn, ns, cache_ttl_s=3600)
    b = PostgresKeyStore(pg_server.dsn, ns, cache_ttl_s=3600)  # cached for an hour ...
    key = a.create_key("alice", ["m1", "m2"], 2.5)
    rec = b.authenticate(key)
    assert rec is not None and rec.name == "alice" and rec.daily_budget_usd == 2.5
    assert rec.allowed_models == frozenset({"m1", "m2"})
    assert b.authenticate(key[:-1] + ("x" if key[-1] != "x" else "y")) is None  # bad secret
    assert a.revoke(rec.key_id)
    assert b.authenticate(key) is None  # ... yet revoked on the next lookup
    other = a.create_key("bob")
    assert b.authenticate(other) is not None
    with psycopg.connect(pg_server.dsn, autocommit=True) as c:  # a DBA's UPDATE, no store
        c.execute(f"UPDATE {ns}_api_keys SET revoked = TRUE WHERE name = 'bob'")
    assert b.authenticate(other) is None
    assert [k["name"] for k in a.list_keys()] == ["alice", "bob"]
    assert not a.revoke("nosuchkey000")
    a.close()
    b.close()


def test_negative_control_without_the_version_check_a_revoked_key_passes(
        pg_server: Postgres, ns: str) -> None:
    """The version read is what makes revocation immediate: a store that skips it serves
    the revoked key from its cache."""

    class NoVersion(PostgresKeyStore):
        def _version(self) -> int:
            return 0

    a = PostgresKeyStore(pg_server.dsn, ns)
    b = NoVersion(pg_server.dsn, ns, cache_ttl_s=3600)
    key = a.create_key("eve")
    rec = b.authenticate(key)
    assert rec is not None
    a.revoke(rec.key_id)
    assert b.authenticate(key) is not None


def test_pg_down_serves_cached_keys_only_then_recovers() -> None:
    srv = new_postgres()
    try:
        store = PostgresKeyStore(srv.dsn, "deg", cache_ttl_s=3600, timeout_s=0.5,
                                 reconnect_s=0.5)
        known, unknown = store.create_key("known"), store.create_key("unknown")
        assert store.authenticate(known) is not None
        srv.stop()
        assert store.authenticate(known) is not None  # cached: keeps working
        assert store.served_from_cache == 1
        with pytest.raises(StateUnavailable):
            store.authenticate(unknown)  # never let through unchecked
        assert store.authenticate("not-a-key") is None  # malformed: never asks the store
        srv.start()
        time.sleep(0.6)
        assert store.authenticate(unknown) is not None  # same store, reconnected
        assert not store.breaker.down
        store.close()
    finally:
        srv.stop()
        remove(srv.dir)
