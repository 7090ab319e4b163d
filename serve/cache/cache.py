"""The two-tier cache: exact key first, then nearest neighbours judged by a hit decision.

``lookup(key)``:

1. exact tier: the store's entry for ``key.exact`` (tenant + context + normalised query);
2. semantic tier: only within ``key.partition`` (same tenant, same context): embed the
   query, take the ``k`` nearest stored queries from that partition's index, let the
   hit decision score them; the best one is served when its score reaches the
   decision's threshold.

A partition is a hard boundary: each (tenant, context) has its own index object, so a
lookup cannot even see another tenant's vectors. ``put`` stores an answer (its TTL
from the policy or per entry); the size bounds and TTL are the store's. Invalidation:
``invalidate_tenant``, ``invalidate_model`` (requested or serving model) and ``erase``
(the conversation memory's erasure callback: a session, and/or any entry whose query or
answer contains one of the erased texts). All methods are thread-safe.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serve.cache.decision import HitDecision
from serve.cache.embed import Embedder
from serve.cache.entry import CacheEntry, StoredAnswer
from serve.cache.index import VectorIndex, make_index
from serve.cache.keys import CacheKey
from serve.cache.store.base import EntryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachePolicy:
    """ttl_s: default entry lifetime (0 = none); semantic: the tier on/off; k: candidates
    judged per lookup; semantic_max_chars: longer queries use the exact tier only."""

    ttl_s: float = 3600.0
    semantic: bool = True
    k: int = 4
    semantic_max_chars: int = 1000
    index_kind: str = "auto"
    index_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lookup:
    """One lookup's outcome. ``score``: 1.0 for an exact hit, else the best decision
    score seen (-inf when no candidate was judged); ``similarity``: the best candidate's
    embedding cosine (nan when none); ``micros``: total time, ``verify_micros`` the part
    spent judging candidates; ``vector``: the query embedding (reused by ``put``)."""

    hit: bool
    tier: str | None
    score: float
    similarity: float
    entry: CacheEntry | None
    vector: np.ndarray | None = field(default=None, repr=False)
    micros: float = 0.0
    verify_micros: float = 0.0


class SemanticCache:
    """Exact + semantic tiers over one ``EntryStore`` (see module)."""

    def __init__(self, store: EntryStore, embedder: Embedder | None,
                 decision: HitDecision | None, policy: CachePolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.embedder = embedder
        self.decision = decision
        self.policy = policy or CachePolicy()
        self.clock = clock
        self._lock = threading.RLock()
        self._indexes: dict[str, VectorIndex] = {}
        self._where: dict[int, str] = {}
        for e in store.entries():
            if e.vector is not None:
                self._index(e.entry_id, e.key.partition, e.vector)

    @property
    def semantic_on(self) -> bool:
        return self.policy.semantic and self.embedder is not None and self.decision is not None

    # ---- index bookkeeping --------------------------------------------------------
    def _index(self, entry_id: int, partition: str, vector: np.ndarray) -> None:
        assert self.embedder is not None or vector is not None
        ix = self._indexes.get(partition)
        if ix is None:
            ix = make_index(self.policy.index_kind, len(vector), **self.policy.index_params)
            self._indexes[partition] = ix
        ix.add(np.array([entry_id]), vector[None])
        self._where[entry_id] = partition

    def _unindex(self, ids: Iterable[int]) -> None:
        for i in ids:
            part = self._where.pop(int(i), None)
            ix = self._indexes.get(part) if part is not None else None
            if ix is not None:
                ix.remove([int(i)])
                if not len(ix):
                    del self._indexes[part]  # type: ignore[arg-type]

    def _sync(self, now: float) -> None:
        for ev in self.store.changes():
            if ev.op == "add" and ev.vector is not None:
                self._index(ev.entry_id, ev.partition, ev.vector)
            elif ev.op == "remove":
                self._unindex([ev.entry_id])
        self._unindex(self.store.expire(now))

    # ---- lookup ---------------------------------------------------------------------
    def eligible(self, key: CacheKey) -> bool:
        """Whether the semantic tier may judge (or store a vector for) this query."""
        return self.semantic_on and len(key.query) <= self.policy.semantic_max_chars

    def embed(self, key: CacheKey) -> np.ndarray | None:
        if not self.eligible(key):
            return None
        assert self.embedder is not None
        return self.embedder.embed([key.query])[0]

    def lookup(self, key: CacheKey, semantic: bool = True) -> Lookup:
        t0 = time.perf_counter()
        with self._lock:
            now = self.clock()
            self._sync(now)
            entry = self.store.get_exact(key.exact, now)
            if entry is not None:
                self.store.hit(entry, now, self.policy.ttl_s)
                return Lookup(True, "exact", 1.0, 1.0, entry,
                              micros=(time.perf_counter() - t0) * 1e6)
            ix = self._indexes.get(key.partition)
            if not semantic or ix is None or not self.eligible(key):
                return Lookup(False, None, -math.inf, math.nan, None,
                              micros=(time.perf_counter() - t0) * 1e6)
            out = self._semantic(key, ix, now)
        out.micros = (time.perf_counter() - t0) * 1e6
        return out

    def _semantic(self, key: CacheKey, ix: VectorIndex, now: float) -> Lookup:
        assert self.decision is not None
        vector = self.embed(key)
        assert vector is not None
        ids, _ = ix.search(vector, self.policy.k)  # similarities: from the stored vectors
        live = self._verified(key, vector, [int(i) for i in ids], now)
        if not live:
            return Lookup(False, None, -math.inf, math.nan, None, vector)
        t1 = time.perf_counter()
        scores = self.decision.judge(key.query, [e.key.query for e, _ in live],
                                     np.array([s for _, s in live]))
        verify = (time.perf_counter() - t1) * 1e6
        best = int(np.argmax(scores))
        entry, sim = live[best]
        score = float(scores[best])
        if score >= self.decision.threshold:
            self.store.hit(entry, now, self.policy.ttl_s)
            return Lookup(True, "semantic", score, sim, entry, vector, verify_micros=verify)
        return Lookup(False, None, score, live[0][1], None, vector, verify_micros=verify)

    def _verified(self, key: CacheKey, vector: np.ndarray, ids: list[int], now: float
                  ) -> list[tuple[CacheEntry, float]]:
        """The index's candidates as live entries of ``key``'s partition, with their
        similarity recomputed from the stored vectors, best first. The index is only a
        hint: an id can be stale (removed by another replica) or, after a shared store lost
        its data, reused by another tenant's entry; such ids leave the index."""
        out, stale = [], []
        for i in ids:
            e = self.store.get(i, now)
            if e is None or e.key.partition != key.partition or e.vector is None:
                stale.append(i)
                continue
            out.append((e, float(np.dot(vector, e.vector))))
        self._unindex(stale)
        return sorted(out, key=lambda es: -es[1])

    # ---- store ----------------------------------------------------------------------
    def put(self, key: CacheKey, answer: StoredAnswer, *, vector: np.ndarray | None = None,
            session: str | None = None, cost_usd: float = 0.0, latency_ms: float = 0.0,
            ttl_s: float | None = None, index: bool = True) -> CacheEntry:
        """Store a complete answer for ``key`` (``vector``: from the lookup, if any).
        ``index=False`` stores it for the exact tier only and leaves the semantic tier to
        ``index_entry`` (the gateway calls that once the response is sent)."""
        ttl = self.policy.ttl_s if ttl_s is None else ttl_s
        if ttl < 0 or not math.isfinite(ttl):
            raise ValueError(f"ttl_s: expected a finite number >= 0, got {ttl}")
        if not index:
            vector = None
        elif vector is None and self.eligible(key):
            vector = self.embed(key)
        with self._lock:
            now = self.clock()
            entry = CacheEntry(key, answer, vector, now, now + ttl if ttl > 0 else math.inf,
                               session, cost_usd, latency_ms)
            self._unindex(self.store.put(entry, now))
            if vector is not None:
                self._index(entry.entry_id, key.partition, vector)
        return entry

    def index_entry(self, entry: CacheEntry, vector: np.ndarray | None = None) -> bool:
        """Give an entry stored with ``put(..., index=False)`` its vector (``vector``, or
        embedded now) and add it to its partition's index. False when the semantic tier
        does not take it, or the entry is no longer this store's live object (expired,
        evicted, replaced or removed meanwhile; a shared store's copies never are)."""
        if vector is None:
            vector = self.embed(entry.key)
        if vector is None:
            return False
        with self._lock:
            if entry.vector is not None or self.store.get(entry.entry_id, self.clock()) \
                    is not entry:
                return False
            entry.vector = vector
            self._index(entry.entry_id, entry.key.partition, vector)
        return True

    # ---- invalidation ---------------------------------------------------------------
    def _drop(self, ids: list[int]) -> int:
        removed = self.store.remove(ids)
        self._unindex(removed)
        return len(removed)

    def remove(self, ids: Iterable[int]) -> int:
        """Remove these entries (e.g. a confirmed false hit); returns how many."""
        with self._lock:
            return self._drop([int(i) for i in ids])

    def invalidate_tenant(self, tenant: str) -> int:
        """Remove every entry of ``tenant``; returns how many."""
        with self._lock:
            return self._drop(self.store.select(tenant=tenant))

    def invalidate_model(self, model: str) -> int:
        """Remove every entry requested for or answered by ``model``."""
        with self._lock:
            return self._drop(self.store.select(model=model))

    def erase(self, tenant: str | None = None, session: str | None = None,
              texts: Iterable[str] = ()) -> int:
        """The memory's erasure callback: remove the entries of ``session`` (within
        ``tenant`` when given) and every entry whose query or answer contains one of
        ``texts``. Returns how many were removed."""
        texts = tuple(t for t in texts if t)
        if session is None and not texts:
            raise ValueError("erase: give a session and/or texts to erase")
        with self._lock:
            ids = set(self.store.select(tenant=tenant, session=session)) if session else set()
            if texts:
                ids |= set(self.store.select(tenant=tenant, texts=texts))
            return self._drop(sorted(ids))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"entries": len(self.store), "partitions": len(self._indexes),
                    "indexed": len(self._where), "store": self.store.kind}
