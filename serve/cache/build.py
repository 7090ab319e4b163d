"""A ``SemanticCache`` from a ``CacheConf`` (each part from its registry by ``kind``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from serve.cache.cache import CachePolicy, SemanticCache
from serve.cache.config import CacheConf
from serve.cache.decision import HitDecision, make_decision
from serve.cache.embed import Embedder, make_embedder
from serve.cache.store import StoreLimits, make_store
from serve.cache.store.base import EntryStore

log = logging.getLogger(__name__)
DEFAULT_ROUTER = "runs/demo/router"  # what `lmroute serve` loads by default


def build_store(conf: CacheConf) -> EntryStore:
    limits = StoreLimits(conf.max_entries, conf.max_entries_per_tenant,
                         conf.refresh_ttl_on_hit)
    s = conf.store
    if s.kind == "redis":
        import serve.cache.store.redis  # noqa: F401  (registers the kind)
        from serve.cache.store.guarded import GuardedStore

        return GuardedStore(make_store("redis", limits, url=s.url, namespace=s.namespace,
                                       grace_s=s.grace_s, sync_interval_s=s.sync_interval_s),
                            s.on_unavailable)
    return make_store(s.kind, limits)


def build_embedder(conf: CacheConf, router_dir: str | None) -> Embedder | None:
    """None when the semantic tier is off."""
    if not conf.semantic:
        return None
    e = conf.embedder
    if e.kind == "router":
        where = e.router_dir or router_dir
        if not where:
            raise ValueError("cache.embedder.router_dir: the router embedder needs a router "
                             "artifact (set it, or serve with router=DIR)")
        return make_embedder("router", router_dir=where, threads=e.threads)
    return make_embedder(e.kind, threads=e.threads)


def build_decision(conf: CacheConf) -> HitDecision | None:
    if not conf.semantic:
        return None
    d = conf.decision
    if d.kind == "verifier":
        if not d.artifact:
            raise ValueError("cache.decision.artifact: the verifier needs its artifact "
                             "directory (lmroute cache train writes one)")
        return make_decision("verifier", artifact=d.artifact, threshold=d.threshold,
                             min_similarity=d.min_similarity, max_judged=d.max_judged)
    if d.threshold is None:
        raise ValueError(f"cache.decision.threshold: required for kind={d.kind!r}")
    return make_decision(d.kind, threshold=d.threshold)


def build_cache(conf: CacheConf, router_dir: str | None = None,
                clock: Callable[[], float] = time.time) -> SemanticCache:
    """The cache described by ``conf`` (``router_dir``: the gateway's router artifact)."""
    policy = CachePolicy(ttl_s=conf.ttl_s, semantic=conf.semantic, k=conf.k,
                         semantic_max_chars=conf.semantic_max_chars,
                         index_kind=conf.index.kind, index_params=index_params(conf))
    cache = SemanticCache(build_store(conf), build_embedder(conf, router_dir),
                          build_decision(conf), policy, clock)
    log.info("cache: store=%s semantic=%s decision=%s", conf.store.kind, cache.semantic_on,
             cache.decision.describe() if cache.decision else None)
    return cache


def index_params(conf: CacheConf) -> dict[str, int]:
    i = conf.index
    hnsw = {"m": i.m, "ef_construction": i.ef_construction, "ef_search": i.ef_search}
    if i.kind == "auto":
        return {"switch_at": i.switch_at, **hnsw}
    return hnsw if i.kind == "hnsw" else {}
