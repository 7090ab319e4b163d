"""Backend health and cooldowns in Redis: a backend cooled down by one replica is cooled
down for all.

Redis holds one hash per backend, ``{ns}:health:{backend}``: ``fails`` (consecutive failed
calls, counted by every replica together) and ``until`` (end of the cooldown, Redis' own
clock in ms). Lua scripts change them atomically and publish each change on
``{ns}:health`` as ``<backend> <fails> <cooldown ms left>``; the cooldown travels as a
duration measured on Redis' clock, so the replicas' clocks never enter.

The request path never waits for Redis: each replica reads its own ``BackendHealth``
objects (``SharedBackendHealth``), which a subscriber task keeps equal to Redis'. A failed
call counts locally at once (and may start a local cooldown at once) and is sent to Redis
in the background; the authoritative count and cooldown come back through pub/sub. A
success is sent only when a failure count is pending (so a healthy backend costs no Redis
traffic). Staleness: one pub/sub hop (sub-millisecond on a LAN); if messages are missed
(the subscriber reconnecting) a full re-read at reconnection and every ``sync_s`` bounds it.

Degraded (Redis unreachable): every replica keeps counting and cooling down by itself,
exactly the single-process behaviour; the writes it could not send are counted
(``describe()``); once Redis answers again the replica re-reads the shared state and
publishes the cooldowns it started while alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from serve.backends.health import BackendHealth
from serve.state.base import HEALTH_STORES, HealthStore, register
from serve.state.connection import redis_async, redis_errors

log = logging.getLogger(__name__)

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
FAIL_LUA = _NOW + """
local f = redis.call('HINCRBY', KEYS[1], 'fails', 1)
local u = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if f >= tonumber(ARGV[1]) then
  u = math.max(u, now + tonumber(ARGV[2]))
  redis.call('HSET', KEYS[1], 'until', u, 'fails', 0)
  f = 0
end
local left = math.max(0, u - now)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. f .. ' ' .. left)
return {f, left}
"""
COOL_LUA = _NOW + """
local u = math.max(tonumber(redis.call('HGET', KEYS[1], 'until') or '0'), now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'until', u)
local f = tonumber(redis.call('HGET', KEYS[1], 'fails') or '0')
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. f .. ' ' .. (u - now))
return u - now
"""
SUCCESS_LUA = """
if tonumber(redis.call('HGET', KEYS[1], 'fails') or '0') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'fails', 0)
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' 0 0')
return 1
"""
READ_LUA = _NOW + """
local out = {}
for i, k in ipairs(KEYS) do
  local h = redis.call('HMGET', k, 'fails', 'until')
  out[i] = {tonumber(h[1] or '0'), math.max(0, tonumber(h[2] or '0') - now)}
end
return out
"""


class SharedBackendHealth(BackendHealth):
    """A ``BackendHealth`` whose failures and successes also go to the shared store."""

    def __init__(self, store: RedisHealthStore, name: str, cooldown_after: int,
                 cooldown_s: float) -> None:
        super().__init__(cooldown_after, cooldown_s)
        self.store = store
        self.name = name

    def record_success(self) -> None:
        if self.consecutive_failures:
            self.store.send(self, "success")
        super().record_success()

    def record_failure(self, now: float | None = None) -> bool:
        self.store.send(self, "fail")
        return super().record_failure(now)

    def apply(self, fails: int, left_ms: float) -> None:
        """The shared state: ``fails`` consecutive failures, cooling down ``left_ms`` more
        (0 = not cooling down; an earlier local cooldown is never shortened)."""
        self.consecutive_failures = fails
        if left_ms > 0:
            self.cooldown_until = max(self.cooldown_until, time.monotonic() + left_ms / 1e3)


@register(HEALTH_STORES, "redis")
class RedisHealthStore(HealthStore):
    """Health in Redis (see module)."""

    def __init__(self, url: str, namespace: str = "lmroute", timeout_s: float = 0.5,
                 sync_s: float = 2.0, reconnect_s: float = 1.0) -> None:
        self.url = url
        self.ns = namespace
        self.channel = f"{namespace}:health"
        self.timeout_s = timeout_s
        self.sync_s = sync_s
        self.reconnect_s = reconnect_s
        self.healths: dict[str, SharedBackendHealth] = {}
        self.r: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None
        self.connected = False
        self.unsent = 0  # writes lost while Redis was unreachable
        self.messages = 0  # pub/sub updates applied
        self.resyncs = 0

    def health_for(self, backend: str, cooldown_after: int, cooldown_s: float) -> BackendHealth:
        h = self.healths.get(backend)
        if h is None:
            h = self.healths[backend] = SharedBackendHealth(self, backend, cooldown_after,
                                                            cooldown_s)
        return h

    def _key(self, backend: str) -> str:
        return f"{self.ns}:health:{backend}"

    async def start(self) -> None:
        self.r = redis_async(self.url, self.timeout_s)
        self._fail = self.r.register_script(FAIL_LUA)
        self._cool = self.r.register_script(COOL_LUA)
        self._success = self.r.register_script(SUCCESS_LUA)
        self._read = self.r.register_script(READ_LUA)
        self._listener = asyncio.create_task(self._listen(), name="health-sync")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for t in list(self._tasks):
            t.cancel()
        if self.r is not None:
            await self.r.aclose()

    # -- writes (fire and forget: the request path never waits) -------------------------
    def send(self, h: SharedBackendHealth, op: str) -> None:
        if self.r is None:
            return
        task = asyncio.get_running_loop().create_task(self._write(h, op))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, h: SharedBackendHealth, op: str) -> None:
        try:
            if op == "fail":
                args = [h.cooldown_after, int(h.cooldown_s * 1000), self.channel, h.name]
                fails, left = await self._fail([self._key(h.name)], args)
                h.apply(int(fails), float(left))
            else:
                await self._success([self._key(h.name)], [self.channel, h.name])
        except redis_errors() as exc:
            self.unsent += 1
            log.debug("health %s of %s not shared (Redis unreachable: %s)", op, h.name, exc)

    # -- reads: pub/sub + full re-reads -------------------------------------------------
    async def _listen(self) -> None:
        """Subscribe, re-read everything, apply messages; on any error wait and start over."""
        while True:
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                await self._resync(publish_local=not self.connected)
                self.connected = True
                next_sync = time.monotonic() + self.sync_s
                while True:
                    msg = await pubsub.get_message(timeout=min(self.sync_s, 1.0))
                    if msg is not None:
                        self._on_message(msg["data"])
                    if time.monotonic() >= next_sync:
                        await self._resync(publish_local=False)
                        next_sync = time.monotonic() + self.sync_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost, timeout: local-only until it is back
                if self.connected:
                    log.error("shared health: Redis unreachable (%s); each replica counts and "
                              "cools down by itself until it is back", exc)
                self.connected = False
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(self.reconnect_s)

    def _on_message(self, data: bytes) -> None:
        try:
            name, fails, left = data.decode().rsplit(" ", 2)
            h = self.healths.get(name)
            if h is not None:
                h.apply(int(fails), float(left))
                self.messages += 1
        except (ValueError, UnicodeDecodeError):
            log.warning("shared health: malformed message %r ignored", data[:100])

    async def _resync(self, publish_local: bool) -> None:
        """Read every backend's shared state; after an outage first publish the cooldowns
        this replica started alone (they become everyone's)."""
        names = list(self.healths)
        if publish_local:
            for name in names:
                left = self.healths[name].cooldown_left_s()
                if left > 0:
                    await self._cool([self._key(name)], [int(left * 1000), self.channel, name])
        rows = await self._read([self._key(n) for n in names], [])
        for name, (fails, left) in zip(names, rows, strict=True):
            self.healths[name].apply(int(fails), float(left))
        self.resyncs += 1

    def describe(self) -> dict[str, object]:
        return {"kind": "redis", "connected": self.connected, "unsent": self.unsent,
                "messages": self.messages, "resyncs": self.resyncs}
