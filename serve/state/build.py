"""The gateway's stores, from ``settings.state`` (conf/state/local.yaml | shared.yaml).

``local`` builds exactly what one process always used: ``serve.keys.KeyStore`` (SQLite)
as ``gateway.keys`` when auth is on, the backends' own ``BackendHealth`` objects, no
router sync, no replica id. Anything shared swaps in its store behind the same interface.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import cast

from serve.keys import KeyStore
from serve.settings import ServeSettings, StateSettings
from serve.state.base import BudgetStore, HealthStore, KeyDirectory
from serve.state.keys_service import KeyService, SharedKeys
from serve.state.router_sync import RouterSync

log = logging.getLogger(__name__)


def replica_id(state: StateSettings) -> str:
    """This replica's id: "" (one process), ``<host>-<pid>`` for "auto", else as set."""
    if state.replica_id == "auto":
        return f"{socket.gethostname()}-{os.getpid()}"
    return state.replica_id


@dataclass
class GatewayState:
    """The stores one gateway uses (see module)."""

    replica: str = ""
    keys: KeyService | None = None
    health: HealthStore | None = None  # None: each backend keeps its own BackendHealth
    router_sync: RouterSync | None = None

    async def start(self) -> None:
        if self.health is not None:
            await self.health.start()

    async def close(self) -> None:
        if self.router_sync is not None:
            await self.router_sync.close()
        if self.health is not None:
            await self.health.close()

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"replica": self.replica or None}
        describe = getattr(self.keys, "describe", None)
        if describe is not None:
            out.update(describe())
        if self.health is not None:
            out["health"] = self.health.describe()
        if self.router_sync is not None:
            out["router_sync"] = self.router_sync.describe()
        return out


def degraded(described: dict[str, object]) -> list[str]:
    """The stores of ``GatewayState.describe()`` (and the stages') that cannot be reached
    now: a breaker that is not ``healthy`` or a subscriber not ``connected``."""
    return sorted(name for name, d in described.items() if isinstance(d, dict)
                  and (d.get("healthy") is False or d.get("connected") is False))


def _directory(settings: ServeSettings, sqlite: KeyStore | None) -> KeyDirectory:
    s = settings.state
    if s.keys == "postgres":
        from serve.state.pg_keys import PostgresKeyStore

        return PostgresKeyStore(s.postgres_dsn, s.namespace.replace(":", "_"),
                                settings.auth.cache_ttl_s, s.timeout_s, s.reconnect_s)
    assert sqlite is not None
    return cast(KeyDirectory, sqlite)  # registered as one (serve/state/base.py)


def _budgets(settings: ServeSettings, sqlite: KeyStore | None) -> BudgetStore:
    s = settings.state
    if s.budgets == "redis":
        from serve.state.redis_budgets import RedisBudgetStore

        return RedisBudgetStore(s.redis_url, s.namespace, s.timeout_s, s.reconnect_s)
    assert sqlite is not None
    return cast(BudgetStore, sqlite)  # registered as one (serve/state/base.py)


def build_keys(settings: ServeSettings) -> KeyService | None:
    """``gateway.keys``: None without auth; the SQLite store when nothing is shared."""
    if not settings.auth.enabled:
        return None
    s = settings.state
    needs_sqlite = s.keys == "sqlite" or s.budgets == "sqlite"
    sqlite = KeyStore(settings.auth.db_path, settings.auth.cache_ttl_s) if needs_sqlite else None
    if s.keys == "sqlite" and s.budgets == "sqlite":
        assert sqlite is not None
        return sqlite
    return SharedKeys(_directory(settings, sqlite), _budgets(settings, sqlite), s.reconnect_s)


def build_state(settings: ServeSettings) -> GatewayState:
    """The stores ``settings.state`` asks for."""
    s = settings.state
    rid = replica_id(s)
    health: HealthStore | None = None
    if s.health == "redis":
        from serve.state.redis_health import RedisHealthStore

        health = RedisHealthStore(s.redis_url, s.namespace, s.timeout_s, s.health_sync_s,
                                  s.reconnect_s)
    sync = None
    if s.router_sync == "redis":
        sync = RouterSync(s.redis_url, rid or f"{socket.gethostname()}-{os.getpid()}",
                          s.namespace, s.router_poll_s, s.heartbeat_s, s.timeout_s)
    if rid or health or sync:
        log.info("state: replica %r, budgets %s, keys %s, health %s, router sync %s",
                 rid, s.budgets, s.keys, s.health, s.router_sync)
    return GatewayState(rid, build_keys(settings), health, sync)
