"""Real processes for the reliability tests: the gateway as a subprocess
(``tests.reliability.gateway_main``, i.e. ``serve.cli.run_server``: uvloop + httptools, the
production stack) and its resource use (RSS, open file descriptors) read from /proc."""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from serve.bench.procs import ManagedProcess
from serve.net import free_port
from tests.serve.conftest import COST, QUALITY

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "admin-fuzz-0123456789"


def backend(url: str, upstream: str, serves: list[str], **kw: Any) -> dict[str, Any]:
    """A backend entry with fast retries and a short cooldown (tests wait it out)."""
    return {"base_url": url, "model": upstream, "serves": serves, "max_retries": 1,
            "backoff_base_s": 0.001, "backoff_max_s": 0.002, "cooldown_after": 2,
            "cooldown_s": 30.0, "timeout_s": 5.0, "connect_timeout_s": 1.0,
            "context_tokens": 4096, "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0,
            "j_per_token": 0.5, **kw}


def stub_settings(backends: dict[str, dict[str, Any]], log_dir: Path, **top: Any
                  ) -> dict[str, Any]:
    """Settings of a gateway routing with the stub router over m-cheap/m-mid/m-strong."""
    return {"stub_router": {"quality": QUALITY, "cost": COST}, "router": None,
            "backends": backends,
            "profiles": {"lmroute/auto": {"w_cost": 0.0}, "lmroute/cheap": {"w_cost": 1000.0},
                         "lmroute/balanced": {"w_cost": 100.0},
                         "lmroute/quality": {"w_cost": 0.0}},
            "seed": 0, "log": {"dir": str(log_dir), "flush_interval_s": 0.2}, **top}


@dataclass
class Usage:
    rss_mb: float
    fds: int
    threads: int


class GatewayProc:
    """``python -m tests.reliability.gateway_main settings.json`` on a free port."""

    def __init__(self, settings: dict[str, Any], workdir: Path,
                 env: dict[str, str] | None = None, nice: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "gateway.json"
        cfg.write_text(json.dumps({**settings, "host": "127.0.0.1", "port": self.port}))
        argv = [sys.executable, "-m", "tests.reliability.gateway_main", str(cfg)]
        if nice:
            argv = ["nice", "-n", str(nice), *argv]
        self.log_path = workdir / "gateway.log"
        self.proc = ManagedProcess("gateway", argv, f"{self.url}/health/live", self.log_path,
                                   env={"LMROUTE_ADMIN_KEY": ADMIN_KEY, "PYTHONPATH": str(ROOT),
                                        **(env or {})}, cwd=ROOT)

    def __enter__(self) -> GatewayProc:
        self.proc.start(timeout_s=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def alive(self) -> bool:
        return self.proc.proc is not None and self.proc.proc.poll() is None

    def usage(self) -> Usage:
        p = psutil.Process(self.pid)
        return Usage(p.memory_info().rss / 2**20, p.num_fds(), p.num_threads())

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.proc.proc is not None
        self.proc.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
