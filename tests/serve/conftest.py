"""Fixtures for the gateway tests: one fake OpenAI-compatible backend server per session,
and a factory that serves the gateway (uvicorn, free localhost port) with a stub router."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from serve.app import create_app
from serve.settings import ServeSettings, settings_from_dict
from tests.serve.fakes import FakeControl, StubRouter, ThreadServer, fake_backend_app

QUALITY = {"m-cheap": 0.5, "m-mid": 0.7, "m-strong": 0.9}
COST = {"m-cheap": 0.0001, "m-mid": 0.001, "m-strong": 0.01}


@pytest.fixture(scope="session")
def fake_backend() -> Iterator[tuple[FakeControl, str]]:
    control = FakeControl()
    with ThreadServer(fake_backend_app(control)) as srv:
        yield control, f"{srv.url}/v1"


@pytest.fixture
def control(fake_backend: tuple[FakeControl, str]) -> FakeControl:
    fake_backend[0].reset()
    return fake_backend[0]


def backend(url: str, upstream: str, serves: list[str], **kw: Any) -> dict[str, Any]:
    return {"base_url": url, "model": upstream, "serves": serves, "max_retries": 1,
            "backoff_base_s": 0.001, "backoff_max_s": 0.002, "cooldown_after": 2,
            "cooldown_s": 30.0, "timeout_s": 5.0, "context_tokens": 4096,
            "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0, "j_per_token": 0.5, **kw}


def base_settings(url: str, log_dir: Path, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "router": None,
        "backends": {
            "b-cheap": backend(url, "up-cheap", ["m-cheap"], edge=True),
            "b-mid": backend(url, "up-mid", ["m-mid"]),
            "b-strong": backend(url, "up-strong", ["m-strong"], price_in_per_mtok=10.0,
                                price_out_per_mtok=30.0),
            "edge": backend(url, "up-edge", ["edge-local"], edge=True, context_tokens=512),
        },
        "profiles": {
            "lmroute/auto": {"w_cost": 0.0, "epsilon": 0.0},
            "lmroute/cheap": {"w_cost": 1000.0, "epsilon": 0.0},
            "lmroute/balanced": {"w_cost": 100.0, "epsilon": 0.0},
            "lmroute/quality": {"w_cost": 0.0, "epsilon": 0.0},
        },
        "fallback_backend": "edge",
        "seed": 0,
        "log": {"dir": str(log_dir), "flush_interval_s": 0.2},
    }
    for k, v in overrides.items():
        raw[k] = v
    return raw


@contextmanager
def serve_gateway(settings: ServeSettings, router: Any = None) -> Iterator[str]:
    """Serve the gateway app; yields its base URL (http://127.0.0.1:PORT)."""
    app = create_app(settings, router_obj=router)
    with ThreadServer(app) as srv:
        yield srv.url


GatewayFactory = Callable[..., Any]


@pytest.fixture
def gateway(fake_backend: tuple[FakeControl, str], control: FakeControl, tmp_path: Path
            ) -> Iterator[Callable[..., Any]]:
    """``gateway(router=..., backend_overrides={name: {...}}, **overrides) -> base URL``
    (router: the stub unless given; overrides replace top-level settings)."""
    stack: list[Any] = []

    def make(router: Any = "stub", backend_overrides: dict[str, dict[str, Any]] | None = None,
             **overrides: Any) -> str:
        raw = base_settings(fake_backend[1], tmp_path / "logs", **overrides)
        for name, patch in (backend_overrides or {}).items():
            raw["backends"][name].update(patch)
        r = StubRouter(QUALITY, COST) if router == "stub" else router
        cm = serve_gateway(settings_from_dict(raw), r)
        stack.append(cm)
        return cm.__enter__()

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def real_routers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """Two real exported ONNX routers (seeds 0 and 1) over the same 4 synthetic models,
    trained in this test run (not a `make demo` leftover): (dir A, dir B, models)."""
    from data.synthetic import make_synthetic
    from tests.artifacts import train_tiny_router

    synth = make_synthetic(600, models=4, seed=0)
    root = tmp_path_factory.mktemp("routers")
    a, _ = train_tiny_router(root / "a", synth, seed=0, epochs=8)
    b, _ = train_tiny_router(root / "b", synth, seed=1, epochs=8)
    return a, b, list(synth.models)
