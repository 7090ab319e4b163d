"""The cache's Prometheus series, registered in the gateway's own registry."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from serve.cache.cache import SemanticCache

LOOKUP_BUCKETS = (2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2)
OUTCOMES = ("hit_exact", "hit_semantic", "miss", "bypass")


class CacheMetrics:
    """lookups by outcome, stores by outcome, saved USD, false-hit feedback, entries."""

    def __init__(self, registry: Any, cache: SemanticCache) -> None:
        self.lookups = Counter("lmroute_cache_lookups", "Cache lookups by outcome "
                               "(hit_exact, hit_semantic, miss, bypass)", ["outcome"],
                               registry=registry)
        self.stores = Counter("lmroute_cache_stores", "Answers stored (stored) or not stored "
                              "because they did not complete normally (refused)",
                              ["outcome"], registry=registry)
        self.saved_usd = Counter("lmroute_cache_saved_usd", "Backend cost saved by cache "
                                 "hits (the original call's cost)", registry=registry)
        self.false_hits = Counter("lmroute_cache_false_hit_feedback", "Cache hits reported "
                                  "as wrong answers (the entry is removed)", registry=registry)
        self.seconds = Histogram("lmroute_cache_lookup_seconds", "Cache lookup time",
                                 buckets=LOOKUP_BUCKETS, registry=registry)
        entries = Gauge("lmroute_cache_entries", "Entries in the cache", registry=registry)
        entries.set_function(lambda: float(len(cache.store)))
        self._children = {o: self.lookups.labels(o) for o in OUTCOMES}
        self._stores = {o: self.stores.labels(o) for o in ("stored", "refused")}

    def lookup(self, outcome: str, seconds: float) -> None:
        self._children[outcome].inc()
        if outcome != "bypass":
            self.seconds.observe(seconds)

    def store(self, outcome: str) -> None:
        self._stores[outcome].inc()

    def saved(self, usd: float) -> None:
        self.saved_usd.inc(max(usd, 0.0))

    def false_hit(self) -> None:
        self.false_hits.inc()
