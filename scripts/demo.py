"""``make demo``: the whole loop on the real RouterBench data, on embedded defaults.

convert -> validate -> summarize -> split -> train + export (ONNX) -> evaluate on the
held-out split -> serve one routed request through the gateway (local llama.cpp edge
model) -> the guardrails, memory and cache stages on real requests (scripts/demo_plugins.py)
-> one pass of the learning loop on the gateway's own (simulated) traffic, in a seeded
synthetic world with known truth, with a hot swap when the retrained router passes the
gate (scripts/demo_loop.py says why not on the real data). Every step is
an ``lmroute`` command, echoed so it can be rerun by hand.
Outputs go to ``runs/demo/``.

Data (``resolve_demo_data``): ``$LMROUTE_SHARED_DATA`` or ``../shared/data`` when present,
else the copy ``lmroute data fetch`` put in the user's cache, else it runs that fetch;
when the network cannot be reached (or the fetch fails) it says so in one line and runs
the same steps on the seeded synthetic generator instead, labelled SYNTHETIC throughout.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape

from data.fetch import subset_verified
from data.fetch_cli import run_fetch
from data.fetch_manifest import DEFAULT_MANIFEST, load_manifest
from data.locate import FETCH_COMMAND, cache_location, find_data
from serve.net import free_port

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "demo"
BIN = Path(sys.executable).parent
console = Console()


def lmroute_code(*args: str) -> int:
    """Run one ``lmroute`` command, echoing it; its exit code."""
    cmd = [str(BIN / "lmroute"), *args]
    console.rule("[bold]lmroute " + escape(" ".join(shlex.quote(a) for a in args)), align="left")
    t0 = time.perf_counter()
    code = subprocess.run(cmd, cwd=ROOT).returncode
    console.print(f"[dim]done in {time.perf_counter() - t0:.1f} s (exit {code})")
    return code


def lmroute(*args: str) -> None:
    """Run one ``lmroute`` command, echoing it; stop the demo if it fails."""
    code = lmroute_code(*args)
    if code != 0:
        console.print(f"[red]step failed (exit {code}): lmroute {' '.join(args)}")
        sys.exit(code)


def wait_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    """Wait for /health/ready; fail with the gateway's own account if it stays unready."""
    deadline, answered = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lmroute serve exited with {proc.returncode}")
        try:
            r = httpx.get(f"{url}/health/ready", timeout=2)
            if r.status_code == 200:
                return
            answered = answered or time.monotonic()
            if time.monotonic() - answered > 60:
                raise RuntimeError(f"gateway up but not ready after 60 s: {r.text}")
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("gateway did not answer /health/ready within 300 s")


def serve_one_request(router_dir: Path) -> None:
    """Start ``lmroute serve`` (router + local Gemma edge model), send one request, stop."""
    port = free_port()
    args = ["serve", f"router={router_dir}", f"port={port}", f"log.dir={OUT / 'serve_logs'}"]
    console.rule("[bold]lmroute " + escape(" ".join(args)), align="left")
    proc = subprocess.Popen([str(BIN / "lmroute"), *args], cwd=ROOT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, url)
        body = {"model": "lmroute/auto", "max_tokens": 32,
                "messages": [{"role": "user", "content": "The capital of France is"}]}
        r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120)
        console.print(f"HTTP {r.status_code}")
        for k, v in r.headers.items():
            if k.startswith("x-lmroute"):
                console.print(f"  {k}: {v}")
        answer = r.json()
        console.print_json(json.dumps(answer)[:2000])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class DemoData:
    """What the demo runs on: ``kind`` "shared" / "fetched" (real RouterBench CSVs under
    ``root/routerbench``) or "synthetic" (``root`` None: the seeded generator)."""

    kind: str
    root: Path | None
    note: str

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    @property
    def experiment(self) -> str:
        return "synthetic_small" if self.synthetic else "routerbench"


def resolve_demo_data(manifest: Path = DEFAULT_MANIFEST) -> DemoData:
    """Shared / env data, else the fetched copy, else fetch; offline -> synthetic.

    Prints exactly one line saying which data the demo uses (and why, when synthetic).
    """
    found, files, dest = find_data("routerbench"), load_manifest(manifest), cache_location()
    if found is not None and (found.path != dest or subset_verified(files, dest, "routerbench")):
        kind = "fetched" if found.path == dest else "shared"
        data = DemoData(kind, found.path, f"real data: {found.path} [{found.label}]")
    else:
        report = run_fetch(files, dest, console, verbose=False)
        if report.complete("routerbench"):
            data = DemoData("fetched", dest, f"real data: fetched into {dest} ({FETCH_COMMAND})")
        else:
            why = ("network unreachable" if report.network_unreachable else
                   f"{len(report.failed)} file(s) failed to fetch: {report.failed[0].message}")
            data = DemoData("synthetic", None,
                            f"{why}; running the demo on SYNTHETIC data "
                            f"(run `{FETCH_COMMAND}` later for the real data)")
    console.print(data.note, style="bold yellow" if data.synthetic else None,
                  markup=False, highlight=False, soft_wrap=True)
    return data


def make_log(data: DemoData, log: Path) -> None:
    """The demo's full-information log: converted RouterBench, or the synthetic generator."""
    if data.synthetic:
        console.rule("[bold yellow]SYNTHETIC data (seeded generator): the figures below "
                     "say nothing about real traffic", align="left")
        lmroute("data", "synth", "--n", "1000", "--models", "10", "--seed", "0",
                "--out", str(log))
    else:
        assert data.root is not None
        lmroute("data", "convert", "--format", "routerbench", "--out", str(log),
                str(data.root / "routerbench"))


def main() -> int:
    data = resolve_demo_data()
    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    name = "synthetic" if data.synthetic else "routerbench"
    log, splits, router = OUT / f"{name}.parquet", OUT / "splits", OUT / "router"
    make_log(data, log)
    lmroute("data", "validate", str(log))
    lmroute("data", "summary", str(log))
    lmroute("data", "split", str(log), "--out-dir", str(splits), "--val", "0.15",
            "--test", "0.2", "--seed", "0")
    lmroute("train", f"experiment={data.experiment}", "data=logs",
            f"data.paths=[{splits / 'train.parquet'},{splits / 'val.parquet'}]",
            f"export.out_dir={router}", f"runs_dir={OUT}")
    lmroute("eval", f"router={router}", f"test_log={splits / 'test.parquet'}",
            f"train_log={splits / 'train.parquet'}", f"out_dir={OUT / 'eval'}")
    serve_one_request(router)
    from scripts.demo_loop import demo_loop
    from scripts.demo_plugins import demo_plugins

    demo_plugins(ROOT, OUT, router, data.synthetic, console, lmroute)
    demo_loop(OUT, console, lmroute, lmroute_code)
    from eval.summary import summary_text

    console.rule("[bold green]summary" + (" (SYNTHETIC data)" if data.synthetic else ""))
    console.print(summary_text(OUT / "eval" / "metrics.json"))
    console.print(f"report: {OUT / 'eval' / 'report.html'}")
    console.print(f"demo wall time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
