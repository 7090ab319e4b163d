"""A hot swap that reaches every replica (``state.router_sync: redis``).

``POST /admin/router`` on any replica swaps its own router first (loaded and verified:
``serve.router_slot.load_checked``), then ``publish`` writes the fleet's router to
``{ns}:router`` (path, the artifact's ``onnx_sha256``, allow_model_change, a sequence
number, who swapped) and publishes it on the channel of the same name. Every replica's
listener loads the artifact at that path and verifies it itself (the same checks, plus:
its ``onnx_sha256`` must be the published one, so a different file at the same path is
refused, never served), then swaps. A replica that starts later, or missed the message,
reads ``{ns}:router`` at start-up and every ``poll_s``.

Each replica reports the artifact it serves in ``{ns}:replicas`` every ``heartbeat_s``
(timestamped by Redis' clock); ``fleet()`` lists the replicas seen in the last three
heartbeats, and the admin call waits up to ``swap_wait_s`` until all of them serve the new
artifact (the answer names any that did not).

Staleness: a replica serves the old artifact for one pub/sub hop plus its own load and
verification (measured in docs/scale.md); without the message, at most ``poll_s`` more. A
request's log row names the artifact that decided it (``meta.artifact``), so rows of the
transition are attributed exactly. Redis unreachable: swaps stay local to the replica that
was called (the answer says the publish failed); the fleet converges at the next poll once
Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from serve.router_slot import RouterSlot, SwapError, load_checked
from serve.state.connection import redis_async

log = logging.getLogger(__name__)

HEARTBEAT_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now .. ' ' .. ARGV[2])
return now
"""
FLEET_LUA = """
local t = redis.call('TIME')
return {t[1] * 1000 + math.floor(t[2] / 1000), redis.call('HGETALL', KEYS[1])}
"""


@dataclass(frozen=True)
class FleetRouter:
    """The router every replica should serve."""

    path: str
    artifact: str
    allow_model_change: bool
    seq: int
    origin: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @staticmethod
    def from_json(raw: bytes | str) -> FleetRouter:
        d = json.loads(raw)
        return FleetRouter(str(d["path"]), str(d["artifact"]), bool(d["allow_model_change"]),
                           int(d["seq"]), str(d["origin"]))


class RouterSync:
    """Publishes this replica's swaps; applies the fleet's (see module)."""

    def __init__(self, url: str, replica_id: str, namespace: str = "lmroute",
                 poll_s: float = 5.0, heartbeat_s: float = 1.0, timeout_s: float = 0.5) -> None:
        self.url = url
        self.replica = replica_id
        self.key = f"{namespace}:router"
        self.fleet_key = f"{namespace}:replicas"
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.r: Any = None
        self.slot: RouterSlot | None = None
        self.lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.applied_seq = -1
        self.last_error = ""  # why the fleet's router was refused here (or Redis trouble)
        self.applied = 0

    async def start(self, slot: RouterSlot, lock: asyncio.Lock) -> None:
        """Serve the fleet's router if one was published; then listen, poll, heartbeat."""
        self.slot, self.lock = slot, lock
        self.r = redis_async(self.url, self.timeout_s)
        self._beat = self.r.register_script(HEARTBEAT_LUA)
        self._fleet = self.r.register_script(FLEET_LUA)
        with contextlib.suppress(Exception):
            await self._poll_once()
        self._tasks = [asyncio.create_task(self._listen(), name="router-sync"),
                       asyncio.create_task(self._heartbeat(), name="router-heartbeat")]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.r is not None:
            with contextlib.suppress(Exception):
                await self.r.hdel(self.fleet_key, self.replica)
            await self.r.aclose()

    async def publish(self, path: str, artifact: str, allow_model_change: bool) -> FleetRouter:
        """Make ``path`` the fleet's router (this replica has already swapped to it)."""
        seq = int(await self.r.incr(f"{self.key}:seq"))
        fr = FleetRouter(path, artifact, allow_model_change, seq, self.replica)
        await self.r.set(self.key, fr.to_json())
        await self.r.publish(self.key, fr.to_json())
        self.applied_seq = seq
        await self._report()
        return fr

    async def fleet(self) -> dict[str, dict[str, Any]]:
        """Replicas seen in the last three heartbeats: id -> {artifact, path, error, age_s}."""
        now, flat = await self._fleet([self.fleet_key], [])
        out: dict[str, dict[str, Any]] = {}
        for rid, val in zip(flat[::2], flat[1::2], strict=True):
            ts, doc = val.decode().split(" ", 1)
            age = (int(now) - int(ts)) / 1e3
            if age <= 3 * self.heartbeat_s:
                out[rid.decode()] = {**json.loads(doc), "age_s": round(age, 3)}
        return out

    async def wait_fleet(self, artifact: str, timeout_s: float) -> dict[str, Any]:
        """Wait until every live replica serves ``artifact`` (or ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            fleet = await self.fleet()
            pending = sorted(r for r, d in fleet.items() if d.get("artifact") != artifact)
            if not pending or time.monotonic() >= deadline:
                return {"replicas": fleet, "pending": pending}
            await asyncio.sleep(0.05)

    # -- applying the fleet's router ---------------------------------------------------
    async def apply(self, fr: FleetRouter) -> None:
        """Load, verify and swap to ``fr`` unless already done (or refused) for its seq."""
        assert self.slot is not None and self.lock is not None
        if fr.seq <= self.applied_seq:
            return
        async with self.lock:
            if fr.seq <= self.applied_seq:
                return
            self.applied_seq = fr.seq
            if self.slot.current()[1] == fr.artifact:
                return
            try:
                new = await asyncio.to_thread(load_checked, fr.path, self.slot,
                                              fr.allow_model_change)
                got = (new.manifest or {}).get("onnx_sha256")
                if got != fr.artifact:
                    raise SwapError(f"{fr.path}: its onnx_sha256 {str(got)[:12]} is not the "
                                    f"published {fr.artifact[:12]}")
            except SwapError as exc:
                self.last_error = str(exc)
                log.error("fleet router (seq %d from %s) refused on replica %s; the old one "
                          "keeps serving: %s", fr.seq, fr.origin, self.replica, exc)
                await self._report()
                return
            self.slot.swap(new, fr.path)
            self.last_error = ""
            self.applied += 1
        await self._report()

    async def _poll_once(self) -> None:
        raw = await self.r.get(self.key)
        if raw:
            await self.apply(FleetRouter.from_json(raw))

    async def _listen(self) -> None:
        """Messages as they come; a poll every ``poll_s``; reconnect after errors."""
        sub = redis_async(self.url, None)
        while True:
            pubsub = sub.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.key)
                await self._poll_once()
                next_poll = time.monotonic() + self.poll_s
                while True:
                    msg = await pubsub.get_message(timeout=min(self.poll_s, 1.0))
                    if msg is not None:
                        await self.apply(FleetRouter.from_json(msg["data"]))
                    if time.monotonic() >= next_poll:
                        await self._poll_once()
                        next_poll = time.monotonic() + self.poll_s
            except asyncio.CancelledError:
                await sub.aclose()
                raise
            except Exception as exc:
                self.last_error = f"router sync: {type(exc).__name__}: {exc}"[:300]
                log.warning("router sync: %s; retrying", self.last_error)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(self.poll_s / 5)

    async def _report(self) -> None:
        assert self.slot is not None
        d = self.slot.describe()
        doc = json.dumps({"artifact": d["artifact"], "path": d["path"],
                          "error": self.last_error or None})
        await self._beat([self.fleet_key], [self.replica, doc])

    async def _heartbeat(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._report()
            await asyncio.sleep(self.heartbeat_s)

    def describe(self) -> dict[str, object]:
        return {"replica": self.replica, "applied_seq": self.applied_seq,
                "applied": self.applied, "last_error": self.last_error or None}
