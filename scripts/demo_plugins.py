"""The plug-in part of ``make demo``: the gateway with the guardrails, the conversation
memory and the semantic cache switched on by config (each a stage of the request
pipeline), and each shown on real requests through that gateway:

- guard (``scripts/demo_guard.py``): one request blocked, one redacted; the artifact is
  trained once, quickly, by ``lmroute guard train`` (skipped on synthetic data: the guard
  trains on the shared guardrail files);
- memory (``scripts/demo_memory.py``): a short multi-turn conversation through the
  official ``openai`` client, then an erasure with its receipt;
- cache (``scripts/demo_cache.py``): the same question twice (the second a hit) and a
  paraphrase, plain and streamed.
The answers come from the local Gemma 3 270M base model (it continues text; it is not a
useful assistant): what matters here is what the stages did, which the headers show.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from scripts import demo_cache, demo_guard, demo_memory
from serve.bench.procs import ManagedProcess
from serve.net import free_port


def demo_plugins(root: Path, out: Path, router_dir: Path, synthetic: bool, console: Console,
                 lmroute: Callable[..., None]) -> None:
    """Start ``lmroute serve`` with the plug-ins on and run each one's demo."""
    overrides = [*demo_memory.SERVE_OVERRIDES, *demo_cache.SERVE_OVERRIDES]
    with_guard = not synthetic
    if with_guard:
        if not (root / demo_guard.GUARD_DIR / "manifest.json").is_file():
            lmroute("guard", "train", *demo_guard.TRAIN_OVERRIDES)
        overrides = [*demo_guard.SERVE_OVERRIDES, *overrides]
    else:
        console.print("[yellow]guard demo skipped: it trains on the shared guardrail files, "
                      "absent here (SYNTHETIC run)")
    port = free_port()
    argv = [sys.executable, "-m", "lmroute_cli", "serve", f"router={router_dir}",
            f"port={port}", f"log.dir={out / 'plugin_logs'}", "log.query=sha256",
            f"hydra.run.dir={out / 'plugin_hydra'}", *overrides]
    console.rule("[bold]lmroute " + " ".join(argv[3:]), align="left")
    with ManagedProcess("lmroute serve (plug-ins)", argv,
                        f"http://127.0.0.1:{port}/health/ready", out / "plugin_serve.log",
                        cwd=root).start(300):
        url = f"http://127.0.0.1:{port}"
        if with_guard:
            demo_guard.demo(url, out, console)
        demo_memory.demo(url, out, console)
        demo_cache.demo(url, out, console)
