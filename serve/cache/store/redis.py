"""Redis entry store: one cache shared by several gateway replicas.

Layout under ``{namespace}:`` (all values bytes):

- ``seq`` (id counter), ``e:{id}`` (hash: ``meta`` JSON, ``answer`` JSON, ``vec`` float32
  bytes), ``x:{exact}`` (exact key -> id);
- ``lru`` and ``t:{tenant}`` (sorted sets id -> last use, for the size bounds and the
  tenant's entries), ``exp`` (id -> expiry), ``m:{model}`` and ``s:{session}`` (sets);
- ``events`` (a stream of adds with partition and vector, and removes), from which each
  replica keeps its in-process vector indexes current (``changes``).

Expiry is checked against ``expires`` on every read (an expired entry is never
returned), purged through ``exp`` by ``expire`` and, as a backstop without traffic,
by Redis' own key expiry ``grace_s`` later. Ids left in the sets by that backstop are
skipped on read and evicted first (they are the oldest).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson

from serve.cache.entry import CacheEntry, StoredAnswer
from serve.cache.keys import CacheKey
from serve.cache.store.base import EntryStore, IndexEvent, StoreLimits, register

_DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end " \
          "return 0"


def _meta(e: CacheEntry) -> bytes:
    k = e.key
    return orjson.dumps({"tenant": k.tenant, "context": k.context, "query": k.query,
                         "model": k.model, "session": e.session, "created": e.created,
                         "expires": None if math.isinf(e.expires) else e.expires,
                         "cost_usd": e.cost_usd, "latency_ms": e.latency_ms})


def _answer(a: StoredAnswer) -> bytes:
    return orjson.dumps({"content": a.content, "finish_reason": a.finish_reason,
                         "model": a.model, "prompt_tokens": a.prompt_tokens,
                         "completion_tokens": a.completion_tokens,
                         "tool_calls": list(a.tool_calls)})


def _entry(entry_id: int, h: dict[bytes, bytes]) -> CacheEntry:
    m = orjson.loads(h[b"meta"])
    a = orjson.loads(h[b"answer"])
    vec = np.frombuffer(h[b"vec"], dtype=np.float32).copy() if h.get(b"vec") else None
    answer = StoredAnswer(a["content"], a["finish_reason"], a["model"], a["prompt_tokens"],
                          a["completion_tokens"], tuple(a["tool_calls"]))
    return CacheEntry(CacheKey(m["tenant"], m["context"], m["query"], m["model"]), answer, vec,
                      m["created"], math.inf if m["expires"] is None else m["expires"],
                      m["session"], m["cost_usd"], m["latency_ms"], entry_id,
                      int(h.get(b"hits", b"0")))


@register("redis")
class RedisStore(EntryStore):
    """Entries in Redis (see module). ``url``: ``redis://host:port/db``."""

    def __init__(self, limits: StoreLimits, url: str = "redis://127.0.0.1:6379/0",
                 namespace: str = "lmroute:cache", grace_s: float = 60.0,
                 sync_interval_s: float = 0.0, stream_max: int = 200_000,
                 client: Any = None) -> None:
        super().__init__(limits)
        import redis

        self.r: Any = client or redis.Redis.from_url(url, socket_timeout=2.0)
        self.ns = namespace
        self.grace_s = grace_s
        self.sync_interval_s = sync_interval_s
        self.stream_max = stream_max
        self.replica = uuid.uuid4().hex[:12].encode()
        self._del_if = self.r.register_script(_DEL_IF)
        last = self.r.xrevrange(self._k("events"), count=1)
        self._cursor = last[0][0] if last else b"0-0"
        self._next_sync = 0.0

    def _backstop_ms(self, expires: float, now: float) -> int:
        """Redis' own expiry: ``grace_s`` after the entry's (relative, so a cache clock
        other than Redis' wall clock cannot expire keys early)."""
        return max(1, int((expires - now + self.grace_s) * 1000))

    def _k(self, *parts: object) -> str:
        return ":".join([self.ns, *map(str, parts)])

    def __len__(self) -> int:
        return int(self.r.zcard(self._k("lru")))

    # ---- writes -------------------------------------------------------------------
    def put(self, entry: CacheEntry, now: float) -> list[int]:
        removed = self.expire(now)
        old = self.r.get(self._k("x", entry.key.exact))
        if old is not None:
            removed += self.remove([int(old)])
        entry.entry_id = int(self.r.incr(self._k("seq")))
        i, key = entry.entry_id, entry.key
        vec = b"" if entry.vector is None else np.asarray(entry.vector, np.float32).tobytes()
        p = self.r.pipeline(transaction=True)
        p.hset(self._k("e", i), mapping={"meta": _meta(entry), "answer": _answer(entry.answer),
                                         "vec": vec, "hits": 0})
        p.set(self._k("x", key.exact), i)
        if not math.isinf(entry.expires):
            backstop = self._backstop_ms(entry.expires, now)
            p.pexpire(self._k("e", i), backstop)
            p.pexpire(self._k("x", key.exact), backstop)
            p.zadd(self._k("exp"), {i: entry.expires})
        p.zadd(self._k("lru"), {i: now})
        p.zadd(self._k("t", key.tenant), {i: now})
        for m in {key.model, entry.answer.model} - {""}:
            p.sadd(self._k("m", m), i)
        if entry.session:
            p.sadd(self._k("s", entry.session), i)
        if vec:
            p.xadd(self._k("events"), {"op": "add", "id": i, "part": key.partition, "vec": vec,
                                       "by": self.replica},
                   maxlen=self.stream_max, approximate=True)
        p.execute()
        return removed + self._evict(key.tenant)

    def _evict(self, tenant: str) -> list[int]:
        out: list[int] = []
        per, cap = self.limits.max_entries_per_tenant, self.limits.max_entries
        if per:
            extra = int(self.r.zcard(self._k("t", tenant))) - per
            if extra > 0:
                ids = self.r.zrange(self._k("t", tenant), 0, extra - 1)
                out += self.remove([int(x) for x in ids], force=True)
        if cap:
            extra = len(self) - cap
            if extra > 0:
                out += self.remove([int(x) for x in self.r.zrange(self._k("lru"), 0, extra - 1)],
                                   force=True)
        return out

    def remove(self, ids: Iterable[int], force: bool = False) -> list[int]:
        out = []
        for i in ids:
            meta, answer = self.r.hmget(self._k("e", i), ["meta", "answer"])
            p = self.r.pipeline(transaction=True)
            if meta is not None:
                m = orjson.loads(meta)
                key = CacheKey(m["tenant"], m["context"], m["query"], m["model"])
                self._del_if(keys=[self._k("x", key.exact)], args=[i], client=p)
                p.zrem(self._k("t", m["tenant"]), i)
                if m["session"]:
                    p.srem(self._k("s", m["session"]), i)
                for model in {m["model"], orjson.loads(answer or b"{}").get("model", "")}:
                    p.srem(self._k("m", model), i)
                p.delete(self._k("e", i))
            elif not force:
                continue
            p.zrem(self._k("lru"), i)
            p.zrem(self._k("exp"), i)
            p.xadd(self._k("events"), {"op": "remove", "id": i, "by": self.replica},
                   maxlen=self.stream_max, approximate=True)
            p.execute()
            out.append(int(i))  # a lingering id (Redis expired the hash) counts as removed
        return out

    def hit(self, entry: CacheEntry, now: float, ttl_s: float) -> None:
        i = entry.entry_id
        entry.hits += 1
        p = self.r.pipeline(transaction=True)
        p.zadd(self._k("lru"), {i: now}, xx=True)
        p.zadd(self._k("t", entry.key.tenant), {i: now}, xx=True)
        p.hincrby(self._k("e", i), "hits", 1)
        if self.limits.refresh_ttl_on_hit and ttl_s > 0:
            entry.expires = now + ttl_s
            backstop = self._backstop_ms(entry.expires, now)
            p.hset(self._k("e", i), "meta", _meta(entry))
            p.pexpire(self._k("e", i), backstop)
            p.pexpire(self._k("x", entry.key.exact), backstop)
            p.zadd(self._k("exp"), {i: entry.expires}, xx=True)
        p.execute()

    # ---- reads --------------------------------------------------------------------
    def get(self, entry_id: int, now: float) -> CacheEntry | None:
        h = self.r.hgetall(self._k("e", entry_id))
        if not h:
            return None
        e = _entry(entry_id, h)
        return e if e.alive(now) else None

    def get_exact(self, exact: str, now: float) -> CacheEntry | None:
        i = self.r.get(self._k("x", exact))
        return None if i is None else self.get(int(i), now)

    def _ids(self, name: str, sorted_set: bool) -> set[int]:
        raw = self.r.zrange(name, 0, -1) if sorted_set else self.r.smembers(name)
        return {int(x) for x in raw}

    def select(self, *, tenant: str | None = None, model: str | None = None,
               session: str | None = None, texts: tuple[str, ...] = ()) -> list[int]:
        pools = []
        if tenant is not None:
            pools.append(self._ids(self._k("t", tenant), True))
        if model is not None:
            pools.append(self._ids(self._k("m", model), False))
        if session is not None:
            pools.append(self._ids(self._k("s", session), False))
        ids = set.intersection(*pools) if pools else self._ids(self._k("lru"), True)
        out = []
        for i in sorted(ids):
            e = self.get(i, -math.inf)
            if e is None or (model is not None and model not in (e.key.model, e.answer.model)):
                continue
            if texts and not e.mentions(texts):
                continue
            out.append(i)
        return out

    def expire(self, now: float) -> list[int]:
        due = self.r.zrangebyscore(self._k("exp"), "-inf", now, start=0, num=1000)
        return self.remove([int(x) for x in due], force=True) if due else []

    def changes(self) -> list[IndexEvent]:
        now = time.monotonic()
        if now < self._next_sync:
            return []
        self._next_sync = now + self.sync_interval_s
        got = self.r.xread({self._k("events"): self._cursor}, count=10_000)
        out = []
        for _, items in got or ():
            for ev_id, f in items:
                self._cursor = ev_id
                if f.get(b"by") == self.replica:
                    continue
                if f[b"op"] == b"add":
                    out.append(IndexEvent("add", int(f[b"id"]), f[b"part"].decode(),
                                          np.frombuffer(f[b"vec"], np.float32).copy()))
                else:
                    out.append(IndexEvent("remove", int(f[b"id"])))
        return out

    def entries(self) -> Iterable[CacheEntry]:
        out = []
        for i in self._ids(self._k("lru"), True):
            e = self.get(i, time.time())
            if e is not None:
                out.append(e)
        return out

    def close(self) -> None:
        self.r.close()
