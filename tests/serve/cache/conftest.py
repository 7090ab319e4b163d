"""Fixtures for the cache tests: a small deterministic embedder (hashed word counts, a
real ``Embedder`` implementation standing in for the router features), caches built on
it with a controllable clock, and a Redis server started by the project's script."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from serve.cache.cache import CachePolicy, SemanticCache
from serve.cache.decision import CosineDecision
from serve.cache.embed import Embedder, unit_rows
from serve.cache.store import StoreLimits, make_store
from serve.cache.store.base import EntryStore
from serve.net import free_port

ROOT = Path(__file__).resolve().parents[3]


class HashEmbedder(Embedder):
    """Bag of lower-cased words hashed into ``dim`` buckets, L2-normalised."""

    kind = "hash"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.identity = f"hash:{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return unit_rows(out)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


CacheFactory = Callable[..., SemanticCache]


@pytest.fixture
def make_cache(clock: Clock) -> CacheFactory:
    """``make_cache(store=None, threshold=0.8, ttl_s=60, **limits)`` on the hash embedder."""
    def make(store: EntryStore | None = None, threshold: float = 0.8, ttl_s: float = 60.0,
             semantic: bool = True, **limits: object) -> SemanticCache:
        st = store if store is not None else make_store("memory", StoreLimits(**limits))  # type: ignore[arg-type]
        return SemanticCache(st, HashEmbedder(), CosineDecision(threshold),
                             CachePolicy(ttl_s=ttl_s, semantic=semantic, index_kind="exact"),
                             clock)
    return make


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server (scripts/services/redis.sh installs and starts it)."""
    script = ROOT / "scripts" / "services" / "redis.sh"
    d = tmp_path_factory.mktemp("redis")
    port = free_port()
    r = subprocess.run(["bash", str(script), "start", str(port), str(d)], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        if shutil.which("redis-server") is None:
            pytest.skip(f"redis-server unavailable: {r.stderr.strip()}")
        pytest.fail(f"redis.sh start failed: {r.stderr.strip()}")
    yield f"redis://127.0.0.1:{port}/0"
    subprocess.run(["bash", str(script), "stop", str(d)], timeout=30)
