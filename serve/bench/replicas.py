"""``lmroute bench gateway --replicas 1,2``: N identical ``lmroute serve`` replicas behind a
round-robin client, with the state stores local or shared (docs/scale.md).

Every configuration serves authenticated, budgeted requests, so the stores are on the
request path: ``local`` = each replica on the SQLite key/budget file (one file on this
machine; one per machine in a real deployment, which would not be exact across them),
backend health in each process; ``shared`` = ``state=shared``: keys in PostgreSQL, budgets
and health in Redis, hot swaps through Redis (servers started by ``serve/bench/stores.py``).
A system is named ``lmroute_x<N>_<local|shared>``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serve.bench.gateway import GatewayTarget, start_gateway
from serve.bench.stores import Postgres, Redis, new_postgres, new_redis, remove

MODES = ("local", "shared")
BUDGET_USD = 1e6  # a budget the run never reaches: every request reserves and settles


def system_name(n: int, mode: str) -> str:
    return f"lmroute_x{n}_{mode}"


@dataclass
class SharedServers:
    """Redis + PostgreSQL for the shared configurations (started once, on first use)."""

    redis: Redis | None = None
    pg: Postgres | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self, stack: contextlib.ExitStack) -> tuple[Redis, Postgres]:
        with self._lock:
            if self.redis is None:
                self.redis = new_redis()
                stack.callback(self._stop)
            if self.pg is None:
                self.pg = new_postgres()
        return self.redis, self.pg

    def _stop(self) -> None:
        for srv in (self.redis, self.pg):
            if srv is not None:
                srv.stop()
                remove(srv.dir)


def _key(mode: str, work: Path, servers: tuple[Redis, Postgres] | None, ns: str) -> str:
    """A budgeted API key in the store that configuration authenticates against."""
    if mode == "shared":
        from serve.state.pg_keys import PostgresKeyStore

        assert servers is not None
        store = PostgresKeyStore(servers[1].dsn, ns, timeout_s=5.0)
    else:
        from serve.keys import KeyStore

        store = KeyStore(work / "keys.sqlite")  # type: ignore[assignment]
    try:
        return store.create_key("bench", None, BUDGET_USD)
    finally:
        store.close()


def mode_overrides(mode: str, work: Path, servers: tuple[Redis, Postgres] | None, ns: str,
                   replica: str) -> list[str]:
    out = ["auth.enabled=true", f"auth.db_path={work / 'keys.sqlite'}",
           f"log.dir={work / 'logs'}", f"hydra.run.dir={work / 'hydra' / replica}",
           f"state.replica_id={replica}"]
    if mode == "shared":
        assert servers is not None
        out += ["state=shared", f"state.redis_url={servers[0].url}",
                f"state.postgres_dsn={servers[1].dsn}", f"state.namespace={ns}"]
    return out


@dataclass(frozen=True)
class ReplicaSet:
    """Started replicas of one configuration: where to send and with which key."""

    urls: list[str]
    model: str
    key: str
    startup_s: list[float]
    overrides: list[list[str]]


def start_replicas(n: int, mode: str, *, backend_url: str, backend_model: str,
                   router: Path | None, model: str | None, work: Path,
                   stack: contextlib.ExitStack, timeout_s: float,
                   servers: SharedServers) -> ReplicaSet:
    """Start ``n`` replicas (stopped by ``stack``) and a key they all accept."""
    if mode not in MODES:
        raise ValueError(f"--shared: expected on/off, got mode {mode!r}")
    shared = servers.ensure(stack) if mode == "shared" else None
    ns = f"bench_{system_name(n, mode)}"
    work = work / system_name(n, mode)
    work.mkdir(parents=True, exist_ok=True)
    key = _key(mode, work, shared, ns)
    gws: list[GatewayTarget] = []
    for i in range(n):
        extra = tuple(mode_overrides(mode, work, shared, ns, f"r{i + 1}"))
        gws.append(start_gateway(backend_url=backend_url, backend_model=backend_model,
                                 router=router, model=model, work=work / f"r{i + 1}",
                                 stack=stack, timeout_s=timeout_s, extra_overrides=extra))
    return ReplicaSet([g.url for g in gws], gws[0].model, key, [g.startup_s for g in gws],
                      [g.overrides for g in gws])


def start_all(counts: tuple[int, ...], modes: tuple[str, ...], *, backend_url: str,
              backend_model: str, router: Path | None, model: str | None, work: Path,
              stack: contextlib.ExitStack, timeout_s: float,
              meta: dict[str, Any]) -> dict[str, ReplicaSet]:
    """Every (replica count, mode) configuration, started (what it is goes in ``meta``)."""
    servers, out = SharedServers(), {}
    for n in counts:
        for mode in modes:
            rs = start_replicas(n, mode, backend_url=backend_url, backend_model=backend_model,
                                router=router, model=model, work=work, stack=stack,
                                timeout_s=timeout_s, servers=servers)
            name = system_name(n, mode)
            meta[name] = {"replicas": n, "state": mode, "model": rs.model, "urls": rs.urls,
                          "startup_s": [round(x, 1) for x in rs.startup_s],
                          "overrides": rs.overrides[0]}
            out[name] = rs
    return out


def parse_replicas(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--replicas: expected e.g. 1,2: {exc}") from exc
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"--replicas: expected distinct counts >= 1, got "
                                         f"{text!r}")
    return counts


def parse_shared(text: str) -> tuple[str, ...]:
    names = {"off": "local", "on": "shared"}
    got = [x.strip() for x in text.split(",") if x.strip()]
    if not got or any(x not in names for x in got) or len(set(got)) != len(got):
        raise argparse.ArgumentTypeError(f"--shared: expected on, off or on,off, got {text!r}")
    return tuple(names[x] for x in got)


def replica_summary(levels: list[dict[str, Any]], counts: tuple[int, ...],
                    modes: tuple[str, ...]) -> dict[str, Any]:
    """Per level: each configuration's throughput and added p50, and per replica count the
    shared/local ratio of throughput and the shared-minus-local added p50 (paired by round:
    the median over rounds)."""
    out: dict[str, Any] = {}
    for lvl in levels:
        sysd = lvl["systems"]
        row: dict[str, Any] = {name: {"throughput_rps": sysd[name]["throughput_rps"],
                                      "added_p50_ms": sysd[name]["added_p50_ms"],
                                      "errors": sysd[name]["n_errors"]}
                               for n in counts for m in modes
                               if (name := system_name(n, m)) in sysd}
        if set(modes) == set(MODES):
            for n in counts:
                lo, sh = sysd[system_name(n, "local")], sysd[system_name(n, "shared")]
                per = [round(b - a, 3) for a, b in zip(lo["added_p50_ms_per_round"],
                                                       sh["added_p50_ms_per_round"],
                                                       strict=True)]
                row[f"x{n}_shared_vs_local"] = {
                    "throughput_ratio": round(sh["throughput_rps"] / lo["throughput_rps"], 4)
                    if lo["throughput_rps"] else None,
                    "added_p50_ms_diff_median_per_round": round(statistics.median(per), 3),
                    "added_p50_ms_diff_per_round": per}
        out[str(lvl["concurrency"])] = row
    return out
