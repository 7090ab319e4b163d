"""Typed schema of the cache config (also read by ``lmroute cache pairs|eval --config``).

A file of the serve group ``conf/cache/`` is a plug-in entry
``{enabled, before, stage: {_target_: serve.stages.cache.CacheStage, <CacheConf fields>}}``
(docs/contracts.md, "Pipeline stages"); the stage's keyword arguments are a ``CacheConf``.
Every object is chosen by ``kind`` from its registry (store, index, embedder, decision);
``serve.cache.build`` turns a ``CacheConf`` into a ``SemanticCache``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf


@dataclass
class StoreConf:
    """kind: memory | redis. The redis fields apply to kind=redis only."""

    kind: str = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "lmroute:cache"
    grace_s: float = 60.0  # Redis' own key expiry this long after an entry's TTL (backstop)
    sync_interval_s: float = 0.0  # how often a replica reads the others' index events
    # Redis unreachable: "open" = carry on without the cache, "closed" = 503 (store/guarded.py)
    on_unavailable: str = "open"


@dataclass
class IndexConf:
    """kind: auto (exact below switch_at entries per partition, then hnsw) | exact | hnsw."""

    kind: str = "auto"
    switch_at: int = 2_000
    m: int = 16
    ef_construction: int = 100
    ef_search: int = 48


@dataclass
class EmbedderConf:
    """kind: router (the router artifact's features; router_dir "" = the gateway's router)
    | minilm (all-MiniLM-L6-v2)."""

    kind: str = "router"
    router_dir: str = ""
    threads: int = 1


@dataclass
class DecisionConf:
    """kind: verifier (learned; threshold null = the artifact's operating point) | cosine.
    Verifier only: it judges candidates with similarity >= ``min_similarity``, at most
    ``max_judged`` of them, nearest first (0 = every one of the ``k``)."""

    kind: str = MISSING
    artifact: str = ""
    threshold: float | None = None
    min_similarity: float = 0.5
    max_judged: int = 0


@dataclass
class CacheConf:
    """The whole cache. ``ttl_s`` 0 = entries never expire; ``max_entries`` 0 = unbounded."""

    semantic: bool = True
    ttl_s: float = 3600.0
    refresh_ttl_on_hit: bool = False
    max_entries: int = 100_000
    max_entries_per_tenant: int = 0
    casefold: bool = False
    k: int = 4
    semantic_max_chars: int = 1000
    store_streams: bool = True
    max_answer_chars: int = 200_000
    tenant_header: str = "x-lmroute-tenant"
    bypass_header: str = "x-lmroute-cache"
    session_header: str = "x-lmroute-session"  # the memory's session (erasure removes its entries)
    store: StoreConf = field(default_factory=StoreConf)
    index: IndexConf = field(default_factory=IndexConf)
    embedder: EmbedderConf = field(default_factory=EmbedderConf)
    decision: DecisionConf = field(default_factory=lambda: DecisionConf(kind="cosine",
                                                                         threshold=0.95))


def _load_yaml(p: Path, depth: int = 0) -> Any:
    """A conf/cache/ file with the sibling files of its Hydra ``defaults`` list merged
    first (``cache_schema`` and ``_self_`` are the schema and the file itself)."""
    if not p.is_file():
        raise ValueError(f"--config: {p} is not a file")
    raw: Any = OmegaConf.load(p)
    bases = []
    for item in raw.pop("defaults", []) if "defaults" in raw else []:
        if isinstance(item, str) and item not in ("cache_schema", "_self_") and depth < 8:
            bases.append(_load_yaml(p.with_name(item + ".yaml"), depth + 1))
    return OmegaConf.merge(*bases, raw) if bases else raw


def _validated(where: str, *parts: Any) -> CacheConf:
    try:
        merged = OmegaConf.merge(OmegaConf.structured(CacheConf), *parts)
        conf: Any = OmegaConf.to_object(merged)
    except Exception as e:  # omegaconf raises several validation error types
        field_ = getattr(e, "full_key", None)
        at = f"{where}: {field_}" if field_ else where
        raise ValueError(f"{at}: {str(e).splitlines()[0]}") from None
    assert isinstance(conf, CacheConf)
    return conf


def cache_conf_from_dict(kwargs: dict[str, Any], where: str = "cache.stage") -> CacheConf:
    """The stage's keyword arguments (plain dicts) validated against ``CacheConf``."""
    return _validated(where, OmegaConf.create(dict(kwargs)))


def load_cache_conf(path: str | Path, overrides: list[str] | None = None) -> CacheConf:
    """A conf/cache/ file (plug-in entry: its ``stage`` without ``_target_``; or a bare
    CacheConf mapping), with the files its ``defaults`` name, then ``key=value``
    overrides (CacheConf field paths). Raises ValueError naming the file and field."""
    p = Path(path)
    try:
        raw = _load_yaml(p)
    except ValueError:
        raise
    except Exception as e:  # YAML syntax errors
        raise ValueError(f"{p}: not a readable YAML file ({str(e).splitlines()[0]})") from None
    if "stage" in raw:
        raw = raw["stage"]
    elif "enabled" in raw and not raw.get("enabled"):
        raise ValueError(f"{p}: this file switches the cache off (enabled: false)")
    raw = OmegaConf.create({k: v for k, v in raw.items()
                            if k not in ("_target_", "enabled", "before")})
    return _validated(str(p), raw, OmegaConf.from_dotlist(list(overrides or [])))
