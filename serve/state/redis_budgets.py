"""Daily budgets and spend in Redis: exact under concurrent spending across replicas.

One hash per key and UTC day, ``{ns}:spend:{key_id}:{day}`` with integer fields
``spent``, ``reserved`` (nano-dollars) and ``requests``. ``reserve`` and ``settle`` are
Lua scripts: Redis runs each one alone, so the check "spent + reserved + amount <= budget"
and the increment are one atomic step whoever calls (the SQLite store's ``BEGIN
IMMEDIATE``, across machines). Amounts are integers: a reservation is rounded *up* to the
nano-dollar and a measured cost to the nearest one, so sums never drift and a reservation
settles back to exactly zero. Lua compares doubles, exact for integers below 2^53
nano-dollars (9 million USD per key and day). A day's hash expires a week after its first
write (``EXPIRE ... NX``: Redis >= 7.0).

Degraded (Redis unreachable): ``reserve`` raises ``StateUnavailable`` and the request is
refused with 503 (fail closed: a budgeted request is never served unaccounted). A failed
``settle`` is not retried (it may have been applied): the request's worst-case reservation
then stays held until the day ends, so the key can spend less than its budget, never more.
Both are counted in ``describe()``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from serve.keys import KeyRecord, utc_day
from serve.state.base import BUDGET_STORES, BudgetStore, StateUnavailable, register
from serve.state.connection import Breaker, redis_errors, redis_sync

log = logging.getLogger(__name__)
NANO = 1_000_000_000  # units per USD
DAY_TTL_S = 8 * 86_400  # a day's hash outlives the day by a week (lmroute serve keys list)

RESERVE_LUA = """
local h = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
local a = tonumber(ARGV[2])
local b = tonumber(ARGV[1])
if b >= 0 and tonumber(h[1] or '0') + tonumber(h[2] or '0') + a > b then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
return 1
"""
SETTLE_LUA = """
local give = math.min(tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0'),
                      tonumber(ARGV[1]))
if give > 0 then redis.call('HINCRBY', KEYS[1], 'reserved', -give) end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
return give
"""


def to_units(usd: float, up: bool = False) -> int:
    """USD -> nano-dollars (rounded up for reservations, to nearest for costs)."""
    if not math.isfinite(usd) or usd < 0:
        raise ValueError(f"amount: expected a finite USD amount >= 0, got {usd}")
    x = usd * NANO
    return math.ceil(x - 1e-6) if up else round(x)


@register(BUDGET_STORES, "redis")
class RedisBudgetStore(BudgetStore):
    """Budgets in Redis (see module). ``client``: an existing sync client (tests)."""

    def __init__(self, url: str, namespace: str = "lmroute", timeout_s: float = 0.5,
                 reconnect_s: float = 1.0, client: Any = None) -> None:
        self.r: Any = client or redis_sync(url, timeout_s)
        self.ns = namespace
        self.breaker = Breaker(f"Redis budgets at {url}", reconnect_s, redis_errors())
        self._reserve = self.r.register_script(RESERVE_LUA)
        self._settle = self.r.register_script(SETTLE_LUA)
        self.refused_unavailable = 0  # reservations refused because Redis was unreachable
        self.settle_failures = 0  # settlements lost (their reservation stays held)

    def _key(self, key_id: str, day: str) -> str:
        return f"{self.ns}:spend:{key_id}:{day}"

    def reserve(self, record: KeyRecord, amount_usd: float, day: str) -> bool:
        budget = record.daily_budget_usd
        limit = -1 if budget is None else to_units(budget)
        args = [limit, to_units(amount_usd, up=True), DAY_TTL_S]
        try:
            ok = self.breaker.call(self._reserve, [self._key(record.key_id, day)], args)
        except StateUnavailable:
            self.refused_unavailable += 1
            raise
        return bool(ok)

    def settle(self, key_id: str, day: str, reserved_usd: float, actual_usd: float) -> None:
        args = [to_units(reserved_usd, up=True), to_units(actual_usd), DAY_TTL_S]
        try:
            self.breaker.call(self._settle, [self._key(key_id, day)], args)
        except StateUnavailable as exc:
            self.settle_failures += 1
            log.error("budget settlement of key %s lost (%s): its reservation of $%.6g stays "
                      "held until the day ends", key_id, exc, reserved_usd)

    def spent(self, key_id: str, day: str | None = None) -> tuple[float, float]:
        h = self.breaker.call(self.r.hmget, self._key(key_id, day or utc_day()),
                              ["spent", "reserved"])
        return int(h[0] or 0) / NANO, int(h[1] or 0) / NANO

    def describe(self) -> dict[str, object]:
        return {"kind": "redis", **self.breaker.describe(),
                "refused_unavailable": self.refused_unavailable,
                "settle_failures": self.settle_failures}

    def close(self) -> None:
        self.r.close()
