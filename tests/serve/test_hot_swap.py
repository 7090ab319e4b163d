"""The gateway serving a real exported ONNX router (trained in this run), and its hot
swap under concurrent traffic: no failed request, every log row names the artifact that
decided it, and a bad artifact is refused while the old one keeps serving."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.io import read_frame
from router_model.runtime import Router
from serve.router_slot import RouterSlot, SwapError
from serve.settings import settings_from_dict
from tests.serve.conftest import backend, serve_gateway
from tests.serve.fakes import StubRouter, ThreadServer, fake_backend_app

ADMIN = "test-admin-key"


def _settings(url: str, models: list[str], log_dir: Path) -> Any:
    return settings_from_dict({
        "backends": {f"b{i}": backend(url, f"up-{m}", [m]) for i, m in enumerate(models)},
        "profiles": {"lmroute/auto": {"w_cost": 100.0, "epsilon": 0.1}},
        "fallback_backend": None, "seed": 0,
        "log": {"dir": str(log_dir), "flush_interval_s": 0.2}})


def test_hot_swap_under_concurrent_traffic(real_routers, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    a_dir, b_dir, models = real_routers
    a, b = Router.load(a_dir), Router.load(b_dir)
    sha_a, sha_b = a.manifest["onnx_sha256"], b.manifest["onnx_sha256"]
    assert sha_a != sha_b
    monkeypatch.setenv("LMROUTE_ADMIN_KEY", ADMIN)
    from tests.serve.fakes import FakeControl

    statuses: list[int] = []
    stop = threading.Event()

    def traffic(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            i = 0
            while not stop.is_set():
                r = c.post("/v1/chat/completions", json={
                    "model": "lmroute/auto", "stream": i % 3 == 0,
                    "messages": [{"role": "user", "content": f"integral of x^{i} python"}]})
                statuses.append(r.status_code)
                i += 1

    with ThreadServer(fake_backend_app(FakeControl())) as fake, \
            serve_gateway(_settings(f"{fake.url}/v1", models, tmp_path / "logs"), a) as url:
        admin = {"authorization": f"Bearer {ADMIN}"}
        assert httpx.get(f"{url}/admin/router", headers=admin).json()["artifact"] == sha_a
        threads = [threading.Thread(target=traffic, args=(url,)) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        r = httpx.post(f"{url}/admin/router", json={"path": str(b_dir)}, headers=admin,
                       timeout=60)
        swapped_at = time.time()
        assert r.status_code == 200 and r.json()["current"]["artifact"] == sha_b, r.text
        time.sleep(1.5)
        bad = tmp_path / "corrupt"
        shutil.copytree(b_dir, bad)
        (bad / "router.onnx").write_bytes(b"not onnx")
        r = httpx.post(f"{url}/admin/router", json={"path": str(bad)}, headers=admin)
        assert r.status_code == 409 and "router.onnx" in r.json()["error"]["message"]
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        assert httpx.get(f"{url}/admin/router", headers=admin).json()["artifact"] == sha_b
    assert len(statuses) > 30 and set(statuses) == {200}, set(statuses)
    df = read_frame(tmp_path / "logs" / "requests")
    arts = [json.loads(m)["artifact"] for m in df["meta"]]
    assert len(df) == len(statuses) and set(arts) == {sha_a, sha_b}
    times = df["timestamp"].map(lambda t: t.timestamp()).to_numpy()
    assert all(x == sha_b for x, t in zip(arts, times, strict=True) if t > swapped_at + 0.5)
    assert all(x == sha_a for x, t in zip(arts, times, strict=True) if t < swapped_at - 2)
    assert df["model"].isin(models).all()  # real decisions over the artifact's models


def test_admin_endpoints_need_the_admin_key(gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMROUTE_ADMIN_KEY", raising=False)
    url = gateway()
    assert httpx.get(f"{url}/admin/router").status_code == 404  # no key configured: no surface
    monkeypatch.setenv("LMROUTE_ADMIN_KEY", ADMIN)
    assert httpx.post(f"{url}/admin/router", json={"path": "x"}).status_code == 401
    r = httpx.post(f"{url}/admin/router", json={"path": "/nonexistent"},
                   headers={"authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 409 and "not a directory" in r.json()["error"]["message"]


def test_a_router_over_other_models_is_refused_unless_allowed() -> None:
    slot = RouterSlot(StubRouter({"a": 0.5, "b": 0.6}, {"a": 0.1, "b": 0.2}), "old")
    other = StubRouter({"a": 0.5, "c": 0.6}, {"a": 0.1, "c": 0.2})
    with pytest.raises(SwapError, match="routes over"):
        slot.check(other, allow_model_change=False)
    slot.check(other, allow_model_change=True)
    slot.swap(other, "new")
    assert slot.current()[0] is other and slot.swaps == 1
