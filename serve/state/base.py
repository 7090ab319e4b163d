"""The narrow interfaces of the state several gateway replicas must agree on, and their
registries: a key directory (who may call), a budget store (what they may still spend) and
a health store (which backends are cooling down).

Each has the embedded single-process implementation (``serve.keys.KeyStore`` in SQLite for
keys and budgets, ``LocalHealthStore`` in this process) and a shared one (PostgreSQL keys
``pg_keys.py``, Redis budgets ``redis_budgets.py``, Redis health ``redis_health.py``); the
serve config's ``state`` group chooses (``serve/state/build.py``).

A shared store that cannot be reached raises ``StateUnavailable``; what the gateway then
does is stated per store (docs/scale.md, "Degraded"): budgets fail closed (503), keys
serve what is cached, health falls back to this process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from serve.backends.health import BackendHealth
from serve.keys import KeyRecord, KeyStore

T = TypeVar("T", bound=type)
KEY_DIRECTORIES: dict[str, type[Any]] = {}
BUDGET_STORES: dict[str, type[Any]] = {}
HEALTH_STORES: dict[str, type[Any]] = {}


def register(registry: dict[str, type[Any]], name: str) -> Callable[[T], T]:
    """Class decorator: ``registry[name] = cls``."""

    def deco(cls: T) -> T:
        registry[name] = cls
        return cls

    return deco


class StateUnavailable(RuntimeError):
    """A shared store (Redis, PostgreSQL) could not be reached; the message says which."""


class KeyDirectory(ABC):
    """API keys: authenticate a bearer token; create, list and revoke keys (the CLI).
    A revocation committed anywhere applies on the next ``authenticate`` of every replica."""

    @abstractmethod
    def authenticate(self, key: str) -> KeyRecord | None:
        """The key's record, or None when unknown, malformed or revoked."""

    @abstractmethod
    def create_key(self, name: str, allowed_models: list[str] | None = None,
                   daily_budget_usd: float | None = None) -> str:
        """Create a key; returns the plaintext key (shown once, never stored)."""

    @abstractmethod
    def revoke(self, key_id: str) -> bool: ...

    @abstractmethod
    def list_keys(self) -> list[dict[str, object]]: ...

    @abstractmethod
    def close(self) -> None: ...


class BudgetStore(ABC):
    """Daily USD budgets: an atomic reservation of a request's worst case, then its
    settlement by the measured cost. ``reserve`` never lets the reserved plus spent amount
    of a key's day pass its budget, whoever reserves concurrently."""

    @abstractmethod
    def reserve(self, record: KeyRecord, amount_usd: float, day: str) -> bool:
        """Reserve ``amount_usd`` of the key's budget for ``day``; False = over budget."""

    @abstractmethod
    def settle(self, key_id: str, day: str, reserved_usd: float, actual_usd: float) -> None:
        """Replace a reservation by the measured cost."""

    @abstractmethod
    def spent(self, key_id: str, day: str | None = None) -> tuple[float, float]:
        """(spent_usd, reserved_usd) of a key on a UTC day (default today)."""

    @abstractmethod
    def close(self) -> None: ...


class HealthStore(ABC):
    """Gives each backend its ``BackendHealth`` (the object the request path reads, with no
    I/O); a shared store keeps every replica's objects in agreement in the background."""

    @abstractmethod
    def health_for(self, backend: str, cooldown_after: int, cooldown_s: float) -> BackendHealth:
        """The health object of ``backend`` (created once per name)."""

    async def start(self) -> None:  # noqa: B027  (optional: in-process stores hold nothing)
        """Connect and start background work (in the app's lifespan)."""

    async def close(self) -> None:  # noqa: B027
        """Stop background work."""

    def describe(self) -> dict[str, object]:
        """What /health/ready shows of the store (admin only)."""
        return {"kind": "local"}


@register(HEALTH_STORES, "local")
class LocalHealthStore(HealthStore):
    """This process only (the single-process default): plain ``BackendHealth`` objects."""

    def __init__(self) -> None:
        self.healths: dict[str, BackendHealth] = {}

    def health_for(self, backend: str, cooldown_after: int, cooldown_s: float) -> BackendHealth:
        h = self.healths.get(backend)
        if h is None:
            h = self.healths[backend] = BackendHealth(cooldown_after, cooldown_s)
        return h


# the SQLite KeyStore is both a key directory and a budget store (one file, one class)
KeyDirectory.register(KeyStore)
BudgetStore.register(KeyStore)
KEY_DIRECTORIES["sqlite"] = KeyStore
BUDGET_STORES["sqlite"] = KeyStore
