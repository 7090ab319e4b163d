"""What the gateway's stages call as ``keys`` when keys or budgets are shared: one object
with the SQLite ``KeyStore``'s request-path methods (``run``, ``authenticate``,
``reserve``, ``settle``), each sent to its own store (a ``KeyDirectory``, a
``BudgetStore``). A store that cannot be reached becomes a 503 ``state_unavailable``
(``Retry-After`` = the reconnect period) instead of an internal error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from serve.errors import GatewayError
from serve.keys import KeyRecord, KeyStore
from serve.state.base import BudgetStore, KeyDirectory, StateUnavailable

T = TypeVar("T")


class KeyService(Protocol):
    """The request path's view of keys and budgets (``serve.keys.KeyStore`` is one)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...

    def authenticate(self, key: str) -> KeyRecord | None: ...

    def reserve(self, record: KeyRecord, amount_usd: float, day: str) -> bool: ...

    def settle(self, key_id: str, day: str, reserved_usd: float, actual_usd: float) -> None: ...

    def close(self) -> None: ...


def unavailable(exc: StateUnavailable, retry_after_s: float) -> GatewayError:
    return GatewayError(503, f"The gateway's shared state is unreachable ({exc}); try again "
                        "shortly.", type_="service_unavailable", code="state_unavailable",
                        headers={"retry-after": str(max(1, round(retry_after_s)))})


class SharedKeys:
    """Keys from ``directory``, budgets from ``budgets`` (see module). Blocking store calls
    run on ``workers`` threads (1 when either store is the SQLite file: one connection)."""

    def __init__(self, directory: KeyDirectory, budgets: BudgetStore,
                 retry_after_s: float = 1.0) -> None:
        self.directory = directory
        self.budgets = budgets
        self.retry_after_s = retry_after_s
        sqlite = isinstance(directory, KeyStore) or isinstance(budgets, KeyStore)
        self._pool = ThreadPoolExecutor(max_workers=1 if sqlite else 4,
                                        thread_name_prefix="state")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except StateUnavailable as exc:
            raise unavailable(exc, self.retry_after_s) from exc

    def authenticate(self, key: str) -> KeyRecord | None:
        return self.directory.authenticate(key)

    def reserve(self, record: KeyRecord, amount_usd: float, day: str) -> bool:
        return self.budgets.reserve(record, amount_usd, day)

    def settle(self, key_id: str, day: str, reserved_usd: float, actual_usd: float) -> None:
        self.budgets.settle(key_id, day, reserved_usd, actual_usd)

    def spent(self, key_id: str, day: str | None = None) -> tuple[float, float]:
        return self.budgets.spent(key_id, day)

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, store in (("keys", self.directory), ("budgets", self.budgets)):
            fn = getattr(store, "describe", None)
            out[name] = fn() if fn is not None else {"kind": "sqlite"}
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.directory.close()
        if self.budgets is not self.directory:
            self.budgets.close()
