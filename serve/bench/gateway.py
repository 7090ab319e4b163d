"""lmroute's gateway under benchmark: ``lmroute serve`` in a subprocess, Hydra overrides
pointing its one backend (``conf/backends/bench.yaml``) at the fake backend.

With a router artifact every model of the router is served by that backend and requests
use ``lmroute/auto`` (the full path: admit, route with the ONNX router, call, log).
Without one, requests name the backend's concrete model, which bypasses routing; the
report says which (``routed``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from serve.bench.procs import ManagedProcess, log_tail
from serve.net import free_port

logger = logging.getLogger(__name__)

ROUTED_MODEL = "lmroute/auto"
BACKEND_KEY = "bench"


@dataclass(frozen=True)
class GatewayTarget:
    """A started gateway: where to send, which model name, and how it was started."""

    url: str
    model: str
    routed: bool
    startup_s: float
    overrides: list[str]


def router_models(router: Path) -> list[str]:
    """The model names in a router artifact's manifest."""
    manifest = json.loads((router / "manifest.json").read_text())
    models = manifest.get("models")
    if not isinstance(models, list) or not models:
        raise RuntimeError(f"{router}/manifest.json: expected a non-empty 'models' list")
    return [str(m) for m in models]


def train_bench_router(out: Path, log_path: Path, timeout_s: float = 1200.0) -> float:
    """Train a small router on synthetic data with ``lmroute train`` (the real trainer and
    exporter, ``experiment=synthetic_small``) into ``out``; returns the seconds it took."""
    runs = out.resolve().parent / "train_runs"
    argv = [sys.executable, "-m", "lmroute_cli", "train", "experiment=synthetic_small",
            f"export.out_dir={out.resolve()}", f"runs_dir={runs}"]  # fmt: skip
    logger.warning("no router artifact: training a small one on synthetic data into %s", out)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        rc = subprocess.run(
            argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s
        ).returncode
    if rc != 0 or not (out / "manifest.json").exists():
        raise RuntimeError(
            f"lmroute train failed (exit {rc}); log {log_path}:\n{log_tail(log_path)}"
        )
    return time.perf_counter() - t0


def _hydra_list(items: list[str]) -> str:
    return "[" + ",".join(json.dumps(x) for x in items) + "]"


def gateway_overrides(
    backend_url: str, backend_model: str, router: Path | None, port: int, work: Path
) -> list[str]:
    """Hydra overrides for ``lmroute serve``: one fake backend, logs in ``work``."""
    key = f"backends.{BACKEND_KEY}"
    served = router_models(router) if router is not None else [backend_model]
    return [
        f"backends={BACKEND_KEY}",
        f"{key}.base_url={backend_url}",
        f"{key}.model={backend_model}",
        f"{key}.serves={_hydra_list(served)}",
        f"router={router.resolve() if router is not None else 'null'}",
        f"fallback_backend={BACKEND_KEY}",
        "host=127.0.0.1",
        f"port={port}",
        f"log.dir={work / 'gateway_logs'}",
        f"hydra.run.dir={work / 'hydra'}",
    ]


def start_gateway(
    *,
    backend_url: str,
    backend_model: str,
    router: Path | None,
    model: str | None,
    work: Path,
    stack: contextlib.ExitStack,
    timeout_s: float,
    extra_overrides: tuple[str, ...] = (),
) -> GatewayTarget:
    """Start ``lmroute serve`` (stopped by ``stack``) and wait for ``/health/ready``;
    ``extra_overrides`` come last, so they win."""
    port = free_port()
    overrides = [*gateway_overrides(backend_url, backend_model, router, port, work),
                 *extra_overrides]
    argv = [sys.executable, "-m", "lmroute_cli", "serve", *overrides]
    proc = ManagedProcess(
        "lmroute", argv, f"http://127.0.0.1:{port}/health/ready", work / "lmroute.log"
    )
    stack.callback(proc.stop)
    proc.start(timeout_s)
    chosen = model or (ROUTED_MODEL if router is not None else backend_model)
    return GatewayTarget(
        url=f"http://127.0.0.1:{port}/v1/chat/completions",
        model=chosen,
        routed=chosen.startswith("lmroute/"),
        startup_s=proc.startup_s or 0.0,
        overrides=overrides,
    )
