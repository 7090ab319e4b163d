"""Fixtures of the reliability suite: scripted backends (real servers on 127.0.0.1) and
the gateway as a real subprocess in front of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serve.keys import KeyStore
from tests.reliability.procs import ADMIN_KEY, ROOT, GatewayProc, backend, stub_settings
from tests.serve.fakes import FakeControl, ThreadServer, fake_backend_app

BACKEND_SECRET = "sk-fuzz-backend-secret-4242"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeControl, ThreadServer]]:
    """One OpenAI-compatible fake backend (uvicorn in a thread) for the whole session;
    each upstream model name behaves as its ``control.models[name]`` says."""
    control = FakeControl()
    with ThreadServer(fake_backend_app(control)) as srv:
        yield control, srv


@pytest.fixture(scope="session")
def fuzz_target(fake_server: tuple[FakeControl, ThreadServer], tmp_path_factory
                ) -> Iterator[tuple[GatewayProc, str, tuple[str, ...]]]:
    """The gateway the fuzzer attacks: a process (uvloop + httptools) with the stub router,
    four backends on the fake server (one with an API key from the environment), API keys
    on, the admin key set, the guard stage on (the untrained test artifact: its rules
    decide), the memory stage on (SQLite, stub summaries) and the cache stage on (exact and
    semantic tiers: a tiny router trained here embeds, a cosine threshold decides; few
    entries and a low HNSW switch, so eviction and both indexes are reached). Yields
    (gateway, a valid API key, strings no response may hold)."""
    control, srv = fake_server
    control.reset()
    work = tmp_path_factory.mktemp("fuzz")
    db = work / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("fuzzer")
    store.close()
    url = f"{srv.url}/v1"
    backends = {"b-cheap": backend(url, "up-cheap", ["m-cheap"], edge=True),
                "b-mid": backend(url, "up-mid", ["m-mid"], api_key_env="FUZZ_BACKEND_KEY"),
                "b-strong": backend(url, "up-strong", ["m-strong"]),
                "edge": backend(url, "up-edge", ["edge-local"], edge=True)}
    from tests.router_model.guard.conftest import build_artifact

    never = {"strict": 1.01, "balanced": 1.01, "permissive": 1.01}  # untrained: rules decide
    guard_dir, _ = build_artifact(work / "guard", {"injection": never, "harmful": never,
                                                   "tag": never})
    settings = stub_settings(backends, work / "logs", fallback_backend="edge",
                             auth={"enabled": True, "db_path": str(db)},
                             guard={"enabled": True, "before": "pre-checks",
                                    "stage": {"_target_": "serve.stages.guard.GuardStage",
                                              "artifact": str(guard_dir)}},
                             memory={"enabled": True, "before": "pre-checks",
                                     "stage": {"_target_": "serve.stages.memory.MemoryStage",
                                               "db_path": str(work / "memory.sqlite"),
                                               "summarizer": {"name": "stub"},
                                               "retrieval": "bm25", "ttl_sweep_s": 1.0}},
                             cache={"enabled": True, "before": "pre-checks",
                                    "stage": cache_stage(work / "router")})
    with GatewayProc(settings, work, env={"FUZZ_BACKEND_KEY": BACKEND_SECRET}) as gw:
        leaks = (f"127.0.0.1:{srv.port}", f":{srv.port}/", str(work), str(ROOT) + "/",
                 BACKEND_SECRET, ADMIN_KEY, key)
        yield gw, key, leaks


def cache_stage(root: Path) -> dict[str, Any]:
    """The semantic cache with no model download: the router embedder on a tiny router
    trained on synthetic rows (~30 s here), a cosine decision, a small store."""
    from data.synthetic import make_synthetic
    from tests.artifacts import train_tiny_router

    router_dir, _ = train_tiny_router(root, make_synthetic(300, models=3, seed=0), epochs=2)
    return {"_target_": "serve.stages.cache.CacheStage", "semantic": True, "ttl_s": 600,
            "max_entries": 300, "k": 4, "index": {"kind": "auto", "switch_at": 40},
            "embedder": {"kind": "router", "router_dir": str(router_dir)},
            "decision": {"kind": "cosine", "threshold": 0.9}}
