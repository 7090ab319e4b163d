"""Private Redis and PostgreSQL servers, started (and installed with apt-get when missing)
by the project's own scripts (``scripts/services/redis.sh``, ``postgres.sh``): for the
multi-replica benchmark and the replica tests, exactly as CI and a try-out start them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from serve.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "services"


class ServiceUnavailable(RuntimeError):
    """A server could not be installed or started (the message has the script's error)."""


def _run(script: str, *args: str, timeout: float = 600.0) -> str:
    r = subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise ServiceUnavailable(f"{script} {args[0]} failed (exit {r.returncode}): "
                                 f"{r.stderr.strip()[-500:]}")
    return r.stdout.strip()


def service_dir(name: str) -> Path:
    """A fresh directory under /tmp with mode 755: PostgreSQL's own user (the server never
    runs as root) must reach it, which pytest's 700 temp dirs do not allow."""
    d = Path(tempfile.mkdtemp(prefix=f"lmroute-{name}-"))
    os.chmod(d, 0o755)
    return d


@dataclass
class Redis:
    port: int
    dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        _run("redis.sh", "start", str(self.port), str(self.dir))
        return self

    def stop(self) -> None:
        """Stop it and wait until the port no longer answers."""
        _run("redis.sh", "stop", str(self.dir), timeout=60)
        subprocess.run(["bash", "-c", f"for i in $(seq 50); do redis-cli -p {self.port} ping "
                        ">/dev/null 2>&1 || exit 0; sleep 0.1; done"], timeout=30)


@dataclass
class Postgres:
    port: int
    dir: Path
    dsn: str = ""

    def start(self) -> Postgres:
        self.dsn = _run("postgres.sh", "start", str(self.port), str(self.dir)).splitlines()[-1]
        return self

    def stop(self) -> None:
        _run("postgres.sh", "stop", str(self.dir), timeout=60)


def new_redis() -> Redis:
    return Redis(free_port(), service_dir("redis")).start()


def new_postgres() -> Postgres:
    return Postgres(free_port(), service_dir("pg")).start()


def remove(d: Path) -> None:
    shutil.rmtree(d, ignore_errors=True)
