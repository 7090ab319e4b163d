"""``lmroute loop`` on a real gateway log: a real ONNX router serves seeded synthetic
traffic with exploration, a grader posts feedback (the synthetic world's logged outcomes),
and the loop converts, retrains off-policy, gates against the router serving and exports.

The router serving is deliberately weak (trained on a world whose model names are reversed:
it believes the worst model is the best), so a learner that uses the feedback should pass
the gate. The placebo (rewards shuffled across the training requests) is gated against a
COMPETENT router (trained on the true world) on the same held-out log: against the weak
one it is no control at all, since a learner that knows nothing routes arbitrarily, and
arbitrary routing can beat a router that is wrong on purpose (seen: lower bound +0.046 on
one run, -0.129 on another, depending on the log's order of arrival).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from data.matrix import FullInfo
from data.synthetic import make_synthetic
from lmroute_cli import main as lmroute
from serve.settings import settings_from_dict
from tests.artifacts import train_tiny_router
from tests.serve.conftest import backend, serve_gateway
from tests.serve.fakes import FakeControl, ThreadServer, fake_backend_app

pytestmark = [pytest.mark.integration]
W_COST, N_REQUESTS, HOLDOUT = 200.0, 1000, "0.4"
PRICES = [0.2, 1.0, 3.0, 8.0]  # USD per Mtok, synth-0 .. synth-3
FAST = ["export.int8=false", "export.exporter=legacy", "policy.epochs=8",
        "policy.n_ensemble=1"]


def _reversed_models(frame, models: list[str]):
    """The same outcomes with the model names reversed (synth-0 <-> synth-3, ...)."""
    rename = dict(zip(models, reversed(models), strict=True))
    return frame.assign(model=frame["model"].map(rename))


async def _drive(url: str, texts: list[str], truth: dict[tuple[str, str], float]) -> int:
    sem, graded = asyncio.Semaphore(16), 0

    async def one(c: httpx.AsyncClient, t: str) -> None:
        nonlocal graded
        async with sem:
            r = await c.post("/v1/chat/completions", json={
                "model": "lmroute/auto", "max_tokens": 8,
                "messages": [{"role": "user", "content": t}]})
            if r.status_code == 200:
                q = truth[(t, r.headers["x-lmroute-served-model"])]
                fb = await c.post("/v1/feedback", json={"request_id": r.json()["id"],
                                                        "quality": q})
                graded += fb.status_code == 200

    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        await asyncio.gather(*(one(c, t) for t in texts))
    return graded


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("loop")
    synth = make_synthetic(N_REQUESTS + 300, models=4, seed=3)
    full = FullInfo.from_frame(synth.frame, models=list(synth.models))
    weak = make_synthetic(N_REQUESTS + 300, models=4, seed=3)
    weak.frame = _reversed_models(weak.frame, list(weak.models))
    current, _ = train_tiny_router(root / "current", weak, seed=0, epochs=8)
    texts = [str(q) for q in full.queries[:N_REQUESTS]]
    truth = {(str(q), m): float(full.quality[i, j]) for i, q in enumerate(full.queries)
             for j, m in enumerate(full.models)}
    with ThreadServer(fake_backend_app(FakeControl())) as fake:
        settings = settings_from_dict({
            "router": str(current),  # loaded by the app from its path, as lmroute serve does
            "backends": {f"b{j}": backend(f"{fake.url}/v1", f"up-{m}", [m],
                                          price_in_per_mtok=PRICES[j],
                                          price_out_per_mtok=PRICES[j])
                         for j, m in enumerate(full.models)},
            "profiles": {"lmroute/auto": {"w_cost": W_COST, "epsilon": 0.8}},
            "fallback_backend": None, "seed": 0,
            "log": {"dir": str(root / "logs"), "flush_interval_s": 0.3}})
        with serve_gateway(settings) as url:
            assert asyncio.run(_drive(url, texts, truth)) == N_REQUESTS
    return root, current


def test_loop_retrains_gates_and_exports(world) -> None:
    root, current = world
    out = root / "new_router"
    argv = ["loop", "--logs", str(root / "logs"), "--current", str(current), "--out", str(out),
            "--w-cost", str(W_COST), "--holdout", HOLDOUT, "--runs-dir", str(root / "runs"), "--",
            *FAST]
    assert lmroute(argv) == 0
    summary = json.loads((root / "new_router.loop" / "loop.json").read_text())
    assert summary["passed"] and summary["convert"]["kept"] == N_REQUESTS
    assert summary["gate"]["diff_lcb"] > 0
    assert json.loads((out / "manifest.json").read_text())["models"] == \
        json.loads((current / "manifest.json").read_text())["models"]
    db = sqlite3.connect(root / "runs" / "mlflow.db")
    exps = {r[0] for r in db.execute("select name from experiments")}
    assert {"lmroute-train", "lmroute-eval", "lmroute-loop"} <= exps


@pytest.fixture(scope="module")
def competent(world) -> Path:
    """A router trained on the true world (the same requests and models as the log's)."""
    root, _ = world
    synth = make_synthetic(N_REQUESTS + 300, models=4, seed=3)
    good, _ = train_tiny_router(root / "competent", synth, seed=0, epochs=8)
    return good


def test_the_placebo_does_not_pass_the_gate(world, competent: Path) -> None:
    root, _ = world
    out = root / "placebo_router"
    argv = ["loop", "--logs", str(root / "logs"), "--current", str(competent), "--out", str(out),
            "--w-cost", str(W_COST), "--holdout", HOLDOUT, "--placebo", "--logger", "none", "--",
            *FAST]
    assert lmroute(argv) == 1
    assert not out.exists()
    summary = json.loads((root / "placebo_router.loop" / "loop.json").read_text())
    assert summary["gate"]["passed"] is False and summary["convert"]["placebo"]


def test_loop_bad_input_exits_2(tmp_path: Path, world) -> None:
    _, current = world
    assert lmroute(["loop", "--logs", str(tmp_path), "--current", str(current),
                    "--out", str(tmp_path / "x")]) == 2
    assert lmroute(["loop", "--logs", str(tmp_path), "--current", str(tmp_path),
                    "--out", str(tmp_path / "x")]) == 2
