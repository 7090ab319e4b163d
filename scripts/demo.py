"""``make demo``: the whole loop on the real RouterBench data, on embedded defaults.

convert -> validate -> summarize -> split -> train + export (ONNX) -> evaluate on the
held-out split -> serve one routed request through the gateway (local llama.cpp edge
model). Every step is an ``lmroute`` command, echoed so it can be rerun by hand.
Outputs go to ``runs/demo/``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape

from data.locate import SharedDataMissing, find_shared_data

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "demo"
BIN = Path(sys.executable).parent
console = Console()


def lmroute(*args: str) -> None:
    """Run one ``lmroute`` command, echoing it; stop the demo if it fails."""
    cmd = [str(BIN / "lmroute"), *args]
    console.rule("[bold]lmroute " + escape(" ".join(shlex.quote(a) for a in args)), align="left")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        console.print(f"[red]step failed (exit {proc.returncode}): {' '.join(cmd)}")
        sys.exit(proc.returncode)
    console.print(f"[dim]done in {time.perf_counter() - t0:.1f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def main() -> int:
    try:
        shared = find_shared_data()
    except SharedDataMissing as exc:
        console.print(f"[red]{exc}")
        return 2
    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    log, splits, router = OUT / "routerbench.parquet", OUT / "splits", OUT / "router"
    lmroute("data", "convert", "--format", "routerbench", "--out", str(log),
            str(shared / "routerbench"))
    lmroute("data", "validate", str(log))
    lmroute("data", "summary", str(log))
    lmroute("data", "split", str(log), "--out-dir", str(splits), "--val", "0.15",
            "--test", "0.2", "--seed", "0")
    lmroute("train", "experiment=routerbench", "data=logs",
            f"data.paths=[{splits / 'train.parquet'},{splits / 'val.parquet'}]",
            f"export.out_dir={router}", f"runs_dir={OUT}")
    lmroute("eval", f"router={router}", f"test_log={splits / 'test.parquet'}",
            f"train_log={splits / 'train.parquet'}", f"out_dir={OUT / 'eval'}")
    serve_one_request(router)
    from eval.summary import summary_text

    console.rule("[bold green]summary")
    console.print(summary_text(OUT / "eval" / "metrics.json"))
    console.print(f"report: {OUT / 'eval' / 'report.html'}")
    console.print(f"demo wall time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
