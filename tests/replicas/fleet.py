"""Several real ``lmroute serve`` replicas on shared Redis + PostgreSQL, for the tests (and
the same recipe docs/scale.md gives): one fake OpenAI-compatible backend (it stands in for
the protocol), a backend that is down (a closed port), ``state=shared``, auth on, the exact
cache tier in Redis, the memory in PostgreSQL, rate limits in Redis (one key limited), logs
under one parent directory."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from serve.bench.procs import ManagedProcess
from serve.net import free_port

ADMIN_KEY = "admin-secret-for-tests"
THROTTLED = "throttled"  # the key name with a rate limit (requests per minute per key)
PRICE_OUT = 5000.0  # USD per million completion tokens: the fake's 2 tokens cost $0.01


@dataclass
class FleetConfig:
    redis_url: str
    pg_dsn: str
    namespace: str
    router: Path
    router_models: list[str]
    work: Path
    backend_url: str = ""
    flush_interval_s: float = 0.25
    flush_rows: int = 16


def write_backends(cfg: FleetConfig) -> Path:
    """A Hydra search-path directory with ``backends/replicas.yaml`` (the backends group)."""
    root = cfg.work / "conf_extra"
    (root / "backends").mkdir(parents=True, exist_ok=True)
    common = {"kind": "openai_http", "max_retries": 0, "timeout_s": 10.0,
              "connect_timeout_s": 1.0, "context_tokens": 8192, "ttft_ms": 1.0,
              "tpot_ms": 0.1}
    doc = {
        "good": {**common, "base_url": cfg.backend_url, "model": "bench-model",
                 "serves": [*cfg.router_models, "m-good"], "price_in_per_mtok": 0.0,
                 "price_out_per_mtok": PRICE_OUT, "cooldown_after": 1000, "edge": True},
        "dead": {**common, "base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "x",
                 "serves": ["m-dead"], "cooldown_after": 2, "cooldown_s": 120.0},
    }
    (root / "backends" / "replicas.yaml").write_text(yaml.safe_dump(doc))
    return root


def overrides(cfg: FleetConfig, replica: str, port: int, conf_extra: Path) -> list[str]:
    ns = cfg.namespace
    return [
        f"hydra.searchpath=[file://{conf_extra}]", "backends=replicas",
        f"router={cfg.router}", "fallback_backend=good", "host=127.0.0.1", f"port={port}",
        "state=shared", f"state.redis_url={cfg.redis_url}", f"state.postgres_dsn={cfg.pg_dsn}",
        f"state.namespace={ns}", f"state.replica_id={replica}", "state.heartbeat_s=0.2",
        "state.router_poll_s=1.0", "auth.enabled=true", f"auth.db_path={cfg.work}/unused.sqlite",
        f"log.dir={cfg.work / 'logs'}", f"log.flush_interval_s={cfg.flush_interval_s}",
        f"log.flush_rows={cfg.flush_rows}", f"hydra.run.dir={cfg.work / 'hydra' / replica}",
        "cache=exact", f"+cache.stage.store={{kind: redis, url: '{cfg.redis_url}', "
                       f"namespace: '{ns}:cache'}}",
        "memory=postgres", f"memory.stage.postgres_dsn={cfg.pg_dsn}",
        f"memory.stage.postgres_schema={ns}_memory", "memory.stage.summarizer.name=stub",
        f"memory.stage.key_file={cfg.work / 'memory.key'}", "memory.stage.background=false",
        f"memory.stage.db_path={cfg.work / 'memory.sqlite'}",
        # one key is rate-limited (a burst of 30, no refill within a test); the rest are not
        "rate_limit=redis", "rate_limit.stage.requests_per_minute=0",
        f"++rate_limit.stage.keys={{{THROTTLED}: {{requests_per_minute: 0.001, burst: 30}}}}",
    ]


@dataclass
class Replica:
    name: str
    port: int
    proc: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no flush (a crash)."""
        import signal

        p = self.proc.proc
        if p is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
            self.proc.proc = None


@dataclass
class Fleet:
    cfg: FleetConfig
    replicas: dict[str, Replica] = field(default_factory=dict)

    def start(self, names: list[str], timeout_s: float = 240.0) -> None:
        """Start the replicas concurrently; each is ready when /health/ready answers 200."""
        conf_extra = write_backends(self.cfg)
        errors: list[BaseException] = []
        for name in names:
            port = free_port()
            argv = [sys.executable, "-m", "lmroute_cli", "serve",
                    *overrides(self.cfg, name, port, conf_extra)]
            env = {"LMROUTE_ADMIN_KEY": ADMIN_KEY, "HF_HUB_OFFLINE": "1"}
            proc = ManagedProcess(f"lmroute-{name}", argv,
                                  f"http://127.0.0.1:{port}/health/ready",
                                  self.cfg.work / f"{name}.log", env=env)
            self.replicas[name] = Replica(name, port, proc)

        def go(r: Replica) -> None:
            try:
                r.proc.start(timeout_s)
            except BaseException as exc:
                errors.append(exc)

        ts = [threading.Thread(target=go, args=(self.replicas[n],)) for n in names]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            self.stop()
            raise errors[0]

    def stop(self) -> None:
        for r in self.replicas.values():
            r.proc.stop()


def chat(client: httpx.Client, replica: Replica, key: str, model: str = "m-good",
         content: str = "hello", **extra: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **extra.pop("headers", {})}
    body = {"model": model, "messages": [{"role": "user", "content": content}],
            "max_tokens": 2, **extra}
    return client.post(f"{replica.url}/v1/chat/completions", json=body, headers=headers)


def admin(client: httpx.Client, replica: Replica, method: str, path: str,
          body: dict[str, Any] | None = None) -> httpx.Response:
    return client.request(method, f"{replica.url}{path}", json=body,
                          headers={"authorization": f"Bearer {ADMIN_KEY}"})


def read_rows(log_parent: Path) -> list[dict[str, Any]]:
    """Every request row in every replica's Parquet files (the tmp files of a write a
    crash interrupted are not log files and are never read)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for f in sorted(log_parent.glob("*/requests/*.parquet")):
        t = pq.read_table(f, columns=["request_id", "model", "meta", "cost_usd"])
        for r in t.to_pylist():
            r["meta"] = json.loads(r["meta"] or "{}")
            r["file"] = f.name
            rows.append(r)
    return rows
