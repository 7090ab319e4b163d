"""The end of ``make demo``: one pass of the learning loop on the gateway's own traffic.

It runs in a seeded SYNTHETIC world (``lmroute data synth``: 4 models, topics that decide
which model is right, known ground truth), because the real data cannot show it: the demo's
RouterBench test split has 442 prompts no router was trained on, and at that size the
deploy gate's interval is ~0.3 wide (the 2026-12-01 run on it: DR difference +0.057,
lower bound -0.278: FAIL, nothing deployed). In the synthetic world:

1. a day-0 router: ``lmroute train`` on a 60-request seed set (few labels: a weak router);
2. ``lmroute serve`` with it, exploring (epsilon 0.8), in front of SIMULATED backends: one
   fast fake OpenAI-compatible server (``serve.bench.fast_backend``) stands in for every
   model; simulated clients send the world's other prompts and a grader that knows every
   model's true outcome on them posts ``/v1/feedback``;
3. ``lmroute loop --logs ... --current day0 --out v1``: convert, retrain off-policy, OPE +
   gate; on PASS the running gateway hot-swaps to v1 (``POST /admin/router``) and one more
   request shows the new artifact deciding; on FAIL nothing is deployed.
The answers are the fake server's fixed text: this shows the loop's plumbing and its
decision, not answer quality.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console

from data.io import read_frame
from serve.bench.procs import ManagedProcess
from serve.net import free_port

N_SEED, N_WORLD, EPSILON = 60, 2100, 0.8


def _backends_conf(manifest: dict[str, Any], url: str) -> dict[str, Any]:
    """One backend per router model, all at the fake server, each with its own price."""
    out: dict[str, Any] = {"bench": {"base_url": url}}
    for i, m in enumerate(manifest["models"]):
        p = manifest["profiles"].get(m, {})
        out[f"sim{i}"] = {"base_url": url, "model": m, "serves": [m], "max_retries": 0,
                          "price_in_per_mtok": float(p.get("price_in_per_mtok", 0.0)),
                          "price_out_per_mtok": float(p.get("price_out_per_mtok", 0.0)),
                          "context_tokens": 100000}
    return out


def write_conf(out: Path, manifest: dict[str, Any], url: str) -> Path:
    """A serve config (``--config-dir``) for the demo's simulated deployment."""
    conf = out / "loop_conf"
    conf.mkdir(parents=True, exist_ok=True)
    doc = {"defaults": ["serve", "_self_"], "fallback_backend": None, "seed": 0,
           "profiles": {"lmroute/auto": {"w_cost": 0.0, "w_latency": 0.0, "w_energy": 0.0,
                                         "epsilon": EPSILON}},
           "backends": _backends_conf(manifest, url)}
    (conf / "demo_loop.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return conf


async def _traffic(url: str, prompts: list[str], truth: dict[tuple[str, str], float]) -> int:
    sem, graded = asyncio.Semaphore(16), 0

    async def one(c: httpx.AsyncClient, text: str) -> None:
        nonlocal graded
        async with sem:
            r = await c.post("/v1/chat/completions", json={
                "model": "lmroute/auto", "max_tokens": 8,
                "messages": [{"role": "user", "content": text}]})
            if r.status_code == 200:
                q = truth[(text, r.headers["x-lmroute-served-model"])]
                fb = await c.post("/v1/feedback", json={"request_id": r.json()["id"],
                                                        "quality": q})
                graded += fb.status_code == 200

    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        await asyncio.gather(*(one(c, t) for t in prompts))
    return graded


def _truth(log: Path) -> tuple[list[str], dict[tuple[str, str], float]]:
    df = read_frame(log).dropna(subset=["quality"])
    truth = {(str(q), str(m)): float(v) for q, m, v in
             zip(df["query"], df["model"], df["quality"], strict=True)}
    return [str(q) for q in dict.fromkeys(df["query"])], truth


def demo_loop(out: Path, console: Console, lmroute: Callable[..., None],
              lmroute_code: Callable[..., int]) -> None:
    """Run the loop demo (see the module docstring); prints what happened."""
    console.rule("[bold yellow]the learning loop, in a SYNTHETIC world (known truth)",
                 align="left")
    world, day0, v1 = out / "loop_world.parquet", out / "router_day0", out / "router_v1"
    lmroute("data", "synth", "--n", str(N_WORLD), "--models", "4", "--seed", "3",
            "--out", str(world))
    lmroute("train", "experiment=synthetic_small", "data=logs", f"data.paths=[{world}]",
            f"data.max_requests={N_SEED}", f"export.out_dir={day0}", f"runs_dir={out}")
    manifest = json.loads((day0 / "manifest.json").read_text())
    prompts, truth = _truth(world)
    prompts = prompts[N_SEED:]  # the day-0 router never saw these
    logs = out / "loop_logs"
    if logs.exists():  # a previous demo's traffic was logged by another day-0 router
        shutil.rmtree(logs)
    fport, gport, admin = free_port(), free_port(), secrets.token_hex(16)
    fake = ManagedProcess("simulated backends",
                          [sys.executable, "-m", "serve.bench.fast_backend", "--port", str(fport)],
                          f"http://127.0.0.1:{fport}/health", out / "loop_fake.log")
    conf = write_conf(out, manifest, f"http://127.0.0.1:{fport}/v1")
    serve = ManagedProcess("lmroute serve",
                           [sys.executable, "-m", "lmroute_cli", "serve", "--config-dir",
                            str(conf), "--config-name", "demo_loop", "backends=bench",
                            f"router={day0}", f"port={gport}", f"log.dir={logs}",
                            f"hydra.run.dir={out / 'loop_hydra'}"],
                           f"http://127.0.0.1:{gport}/health/ready", out / "loop_serve.log",
                           env={"LMROUTE_ADMIN_KEY": admin})
    url = f"http://127.0.0.1:{gport}"
    with fake.start(60), serve.start(180):
        console.rule(f"[bold]simulated traffic: {len(prompts)} prompts to lmroute/auto "
                     f"(epsilon {EPSILON}), graded by the world's outcomes", align="left")
        graded = asyncio.run(_traffic(url, prompts, truth))
        console.print(f"{graded} answered and graded; log: {logs}")
        time.sleep(3)  # one log flush
        code = lmroute_code("loop", "--logs", str(logs), "--current", str(day0), "--out",
                            str(v1), "--holdout", "0.4", "--runs-dir", str(out), "--force")
        if code == 0:
            _hot_swap(url, admin, v1, console)
        else:
            console.print("[yellow]the candidate did not pass the gate: nothing was "
                          "deployed; the day-0 router keeps serving (report above)")


def _hot_swap(url: str, admin: str, v1: Path, console: Console) -> None:
    h = {"authorization": f"Bearer {admin}"}
    r = httpx.post(f"{url}/admin/router", json={"path": str(v1)}, headers=h, timeout=120)
    console.print(f"POST /admin/router -> HTTP {r.status_code}: {r.json()}")
    r = httpx.post(f"{url}/v1/chat/completions", timeout=60, json={
        "model": "lmroute/auto", "messages": [{"role": "user", "content": "integral of x"}]})
    art = httpx.get(f"{url}/admin/router", headers=h).json()["artifact"]
    console.print(f"after the swap: HTTP {r.status_code}, routed to "
                  f"{r.headers.get('x-lmroute-model')} by artifact {str(art)[:16]}")


if __name__ == "__main__":  # only the loop part: python -m scripts.demo_loop
    from scripts.demo import OUT, console, lmroute, lmroute_code

    demo_loop(OUT, console, lmroute, lmroute_code)
