"""In-process entry store: dicts in least-recently-used order and an expiry heap.

``put`` and ``hit`` are O(1) (plus O(log n) for the heap); ``expire`` pops only what is
due; the size bounds evict least recently used entries, the tenant's own first when the
per-tenant bound is what is exceeded.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable

from serve.cache.entry import CacheEntry
from serve.cache.store.base import EntryStore, StoreLimits, register


@register("memory")
class MemoryStore(EntryStore):
    """Entries in this process only (see module)."""

    def __init__(self, limits: StoreLimits) -> None:
        super().__init__(limits)
        self._entries: OrderedDict[int, CacheEntry] = OrderedDict()
        self._exact: dict[str, int] = {}
        self._tenants: dict[str, OrderedDict[int, None]] = {}
        self._heap: list[tuple[float, int]] = []
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, entry: CacheEntry, now: float) -> list[int]:
        removed = self.expire(now)
        old = self._exact.get(entry.key.exact)
        if old is not None:
            removed += self.remove([old])
        entry.entry_id = self._next_id
        self._next_id += 1
        self._entries[entry.entry_id] = entry
        self._exact[entry.key.exact] = entry.entry_id
        self._tenants.setdefault(entry.key.tenant, OrderedDict())[entry.entry_id] = None
        if entry.expires != float("inf"):
            heapq.heappush(self._heap, (entry.expires, entry.entry_id))
        return removed + self._evict(entry.key.tenant)

    def _evict(self, tenant: str) -> list[int]:
        out: list[int] = []
        per = self.limits.max_entries_per_tenant
        mine = self._tenants.get(tenant)
        while per and mine is not None and len(mine) > per:
            out += self.remove([next(iter(mine))])
        cap = self.limits.max_entries
        while cap and len(self._entries) > cap:
            out += self.remove([next(iter(self._entries))])
        return out

    def get(self, entry_id: int, now: float) -> CacheEntry | None:
        e = self._entries.get(entry_id)
        return e if e is not None and e.alive(now) else None

    def get_exact(self, exact: str, now: float) -> CacheEntry | None:
        i = self._exact.get(exact)
        return None if i is None else self.get(i, now)

    def hit(self, entry: CacheEntry, now: float, ttl_s: float) -> None:
        if entry.entry_id not in self._entries:
            return
        entry.hits += 1
        self._entries.move_to_end(entry.entry_id)
        self._tenants[entry.key.tenant].move_to_end(entry.entry_id)
        if self.limits.refresh_ttl_on_hit and ttl_s > 0:
            entry.expires = now + ttl_s
            heapq.heappush(self._heap, (entry.expires, entry.entry_id))

    def remove(self, ids: Iterable[int]) -> list[int]:
        out = []
        for i in ids:
            e = self._entries.pop(int(i), None)
            if e is None:
                continue
            out.append(e.entry_id)
            if self._exact.get(e.key.exact) == e.entry_id:
                del self._exact[e.key.exact]
            mine = self._tenants.get(e.key.tenant)
            if mine is not None:
                mine.pop(e.entry_id, None)
                if not mine:
                    del self._tenants[e.key.tenant]
        return out

    def select(self, *, tenant: str | None = None, model: str | None = None,
               session: str | None = None, texts: tuple[str, ...] = ()) -> list[int]:
        pool: Iterable[int] = self._tenants.get(tenant, ()) if tenant is not None \
            else self._entries
        out = []
        for i in list(pool):
            e = self._entries[i]
            if model is not None and model not in (e.key.model, e.answer.model):
                continue
            if session is not None and e.session != session:
                continue
            if texts and not e.mentions(texts):
                continue
            out.append(i)
        return out

    def expire(self, now: float) -> list[int]:
        out: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            _, i = heapq.heappop(self._heap)
            e = self._entries.get(i)
            if e is not None and e.expires <= now:  # a refreshed entry has a later item
                out += self.remove([i])
        return out

    def entries(self) -> Iterable[CacheEntry]:
        return list(self._entries.values())
