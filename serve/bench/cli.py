"""``lmroute bench gateway``: lmroute's added latency vs. LiteLLM's, in one run.

Starts the fast fake backend (``serve.bench.fast_backend``), lmroute's gateway (``lmroute serve``
in a subprocess, pointed at the fake backend) and LiteLLM's proxy (in ``.venv-litellm``,
installed on first use), all on 127.0.0.1. For each concurrency level it drives the same
bounded closed-loop load DIRECT to the backend (the baseline), THROUGH lmroute and
THROUGH LiteLLM, interleaved so that background load on the machine hits all three alike,
and prints JSON: per level and system p50/p99 latency (ms), throughput (rps), errors and
the added latency (system minus direct), plus lmroute_added_p50 / litellm_added_p50.
``--variant OVERRIDE`` (repeatable) also starts a second gateway, ``lmroute_b``, with
those Hydra overrides on top, measured in the same interleaved rounds: an A/B of a
config change (``backends.bench.http_client=aiohttp``, another ``router=...``) in one run.

    lmroute bench gateway [--concurrency 1,50,200] [--requests 2000] [--out FILE]
    lmroute bench gateway --replicas 1,2 [--shared on,off]   (serve/bench/replicas.py)

Every server is stopped on exit, error or Ctrl-C (each runs in its own process group).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serve.bench import replicas as rep
from serve.bench.gateway import GatewayTarget, router_models, start_gateway, train_bench_router
from serve.bench.litellm import MASTER_KEY, ensure_litellm, litellm_process, write_config
from serve.bench.load import LoadResult, LoadSpec, combine, run_load
from serve.bench.procs import ManagedProcess, ProcessError
from serve.net import free_port

logger = logging.getLogger(__name__)

SYSTEMS = ("direct", "lmroute", "litellm")
VARIANT = "lmroute_b"  # the second gateway of --variant
BACKEND_MODEL = "bench-model"
DEFAULT_ROUTERS = (Path("runs/demo/router"), Path("runs/bench/router"))
BENCH_ROUTER = Path("runs/bench/router")
PROMPT = "Summarise the plot of Hamlet in one sentence."


@dataclass(frozen=True)
class BenchConfig:
    """What to run; see ``--help`` for each field."""

    concurrency: tuple[int, ...] = (1, 50, 200)
    requests: int = 2000
    warmup: int = 200
    rounds: int = 5
    systems: tuple[str, ...] = SYSTEMS
    backend_delay_ms: float = 0.0
    router: Path | None = None
    variant: tuple[str, ...] = ()  # Hydra overrides of the lmroute_b gateway; () = none
    model: str | None = None  # request model through lmroute; None = routed if a router
    prompt: str = PROMPT  # the user message of every request (--prompt)
    litellm_venv: Path = Path(".venv-litellm")
    install: bool = True
    workdir: Path | None = None
    replicas: tuple[int, ...] = ()  # replica counts (--replicas); () = the one lmroute
    shared: tuple[str, ...] = ("local", "shared")  # state modes of each replica count
    start_timeout_s: float = 240.0
    deadline_s: float = 600.0


@dataclass
class Target:
    """Where one system takes requests."""

    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()  # several replicas: round-robin over these


@dataclass
class BenchReport:
    """The JSON the benchmark prints."""

    meta: dict[str, Any]
    levels: list[dict[str, Any]]
    summary: dict[str, Any]


def _parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--concurrency: expected e.g. 1,50,200: {exc}") from exc
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"--concurrency: expected positive ints, got {text!r}")
    return levels


def _parse_systems(text: str) -> tuple[str, ...]:
    systems = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in systems if s not in SYSTEMS]
    if bad or "direct" not in systems:
        raise argparse.ArgumentTypeError(
            f"--systems: expected a subset of {','.join(SYSTEMS)} including direct, got {text!r}"
        )
    return systems


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lmroute bench gateway",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    # fmt: off
    add("--concurrency", type=_parse_levels, default=(1, 50, 200),
        help="comma-separated concurrent clients per level (default 1,50,200)")
    add("--requests", type=int, default=2000, help="measured requests per level")
    add("--warmup", type=int, default=200, help="discarded requests per level")
    add("--rounds", type=int, default=5, help="interleaved rounds per level: each round "
        "runs every system in turn (requests split across rounds; the full warm-up "
        "before the first, a share of it before each later one)")
    add("--systems", type=_parse_systems, default=SYSTEMS,
        help="subset of direct,lmroute,litellm (direct is the baseline)")
    add("--backend-delay-ms", type=float, default=0.0,
        help="fixed delay of the fake backend per answer (model time)")
    add("--router", type=Path, default=None,
        help="router artifact dir (default: runs/demo/router, else runs/bench/router, "
             "trained on synthetic data by `lmroute train` on first use)")
    add("--no-router", action="store_true",
        help=f"no router artifact: requests name {BACKEND_MODEL!r}, bypassing routing")
    add("--variant", action="append", default=[], metavar="OVERRIDE",
        help="also run a second gateway (lmroute_b) with this Hydra override on top "
             "(repeatable); the report gives lmroute_b minus lmroute per round")
    add("--prompt", default=PROMPT, help="the user message of every request (a guard "
        "variant must see a prompt it allows, or it measures refusals)")
    add("--model", default=None, help="model sent through lmroute (default lmroute/auto "
        f"with a router, else the concrete {BACKEND_MODEL!r})")
    add("--litellm-venv", type=Path, default=Path(".venv-litellm"))
    add("--no-install", dest="install", action="store_false",
        help="fail instead of installing litellm[proxy] when missing")
    add("--replicas", type=rep.parse_replicas, default=(), help="e.g. 1,2: N lmroute replicas "
        "behind a round-robin client per count, authenticated and budgeted, instead of "
        "the one lmroute (systems lmroute_x<N>_<local|shared>)")
    add("--shared", type=rep.parse_shared, default=("local", "shared"), help="with --replicas: "
        "on, off or on,off (default): state stores shared (Redis + PostgreSQL) or local")
    add("--workdir", type=Path, default=None, help="server logs/configs (default tmp)")
    add("--out", type=Path, default=None, help="also write the JSON here")
    add("-v", "--verbose", action="store_true")
    # fmt: on
    return p


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BenchConfig:
    if args.rounds < 1:
        parser.error(f"--rounds: expected >= 1, got {args.rounds}")
    if args.requests < 1 or args.warmup < 0:
        parser.error(f"--requests >= 1 and --warmup >= 0 expected, got {args.requests}, "
                     f"{args.warmup}")  # fmt: skip
    if args.backend_delay_ms < 0:
        parser.error(f"--backend-delay-ms: expected >= 0, got {args.backend_delay_ms}")
    router = None if args.no_router else args.router
    if router is None and not args.no_router:
        found = [p for p in DEFAULT_ROUTERS if (p / "manifest.json").exists()]
        router = found[0] if found else BENCH_ROUTER  # trained on first use
    if router not in (None, BENCH_ROUTER) and not (router / "manifest.json").exists():
        parser.error(f"--router: no manifest.json in {router}")
    if args.variant and "lmroute" not in args.systems:
        parser.error("--variant: compares against lmroute; add it to --systems")
    systems = args.systems + ((VARIANT,) if args.variant else ())
    if args.replicas:  # the replica configurations replace the one lmroute
        systems = tuple(s for s in systems if s not in ("lmroute", VARIANT)) + tuple(
            rep.system_name(n, m) for n in args.replicas for m in args.shared)
    return BenchConfig(
        concurrency=args.concurrency, requests=args.requests, warmup=args.warmup,
        rounds=args.rounds,
        systems=systems, backend_delay_ms=args.backend_delay_ms, router=router,
        variant=tuple(args.variant), replicas=args.replicas, shared=args.shared,
        model=args.model, prompt=args.prompt, litellm_venv=args.litellm_venv,
        install=args.install,
        workdir=args.workdir,
    )  # fmt: skip


def _start_backend(cfg: BenchConfig, work: Path, stack: contextlib.ExitStack) -> str:
    port = free_port()
    argv = [sys.executable, "-m", "serve.bench.fast_backend", "--port", str(port),
            "--delay-ms", str(cfg.backend_delay_ms), "--model", BACKEND_MODEL]  # fmt: skip
    proc = ManagedProcess("fake-backend", argv, f"http://127.0.0.1:{port}/health",
                          work / "fake_backend.log")  # fmt: skip
    stack.callback(proc.stop)
    proc.start(30.0)
    return f"http://127.0.0.1:{port}/v1"


def _start_litellm(
    cfg: BenchConfig, backend: str, work: Path, stack: contextlib.ExitStack, meta: dict[str, Any]
) -> Target:
    install = ensure_litellm(cfg.litellm_venv, cfg.install)
    meta["litellm"] = {"version": install.version, "install_s": round(install.install_s, 1)}
    port = free_port()
    config = write_config(work / "litellm_config.yaml", backend, BACKEND_MODEL)
    proc = litellm_process(install, config, port, work / "litellm.log")
    stack.callback(proc.stop)
    proc.start(cfg.start_timeout_s)
    meta["litellm"]["startup_s"] = round(proc.startup_s or 0.0, 1)
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    return Target(f"http://127.0.0.1:{port}/v1/chat/completions", BACKEND_MODEL, auth)


def _start_lmroute(
    cfg: BenchConfig, backend: str, work: Path, stack: contextlib.ExitStack, meta: dict[str, Any],
    name: str = "lmroute", extra: tuple[str, ...] = (),
) -> Target:
    if cfg.router is not None and not (cfg.router / "manifest.json").exists():
        meta["router_train_s"] = round(train_bench_router(cfg.router, work / "train.log"), 1)
    work = work / name if extra else work
    work.mkdir(parents=True, exist_ok=True)
    gw: GatewayTarget = start_gateway(
        backend_url=backend, backend_model=BACKEND_MODEL, router=cfg.router, model=cfg.model,
        work=work, stack=stack, timeout_s=cfg.start_timeout_s, extra_overrides=extra,
    )  # fmt: skip
    meta[name] = {"startup_s": round(gw.startup_s, 1), "model": gw.model, "variant": list(extra),
                       "routed": gw.routed, "router": str(cfg.router) if cfg.router else None,
                   "router_models": router_models(cfg.router) if cfg.router else None,
                       "overrides": gw.overrides}  # fmt: skip
    return Target(gw.url, gw.model, {})


def _measure(cfg: BenchConfig, targets: dict[str, Target]) -> list[dict[str, Any]]:
    """Per level, up to ``cfg.rounds`` rounds (``level_rounds``); each round runs every
    system in turn (order rotated per round), so slow drifts of the shared machine's
    background load hit all systems alike."""
    levels = []
    for conc in cfg.concurrency:
        runs: dict[str, list[LoadResult]] = {s: [] for s in cfg.systems}
        per_round = _split(cfg.requests, level_rounds(cfg.rounds, cfg.requests, conc))
        k = len(cfg.systems)
        # the full warm-up before the first round; later rounds only re-open connections
        warm = [cfg.warmup] + [cfg.warmup // len(per_round)] * (len(per_round) - 1)
        for r, n in enumerate(per_round):
            for system in cfg.systems[r % k:] + cfg.systems[:r % k]:  # rotated: no order bias
                t = targets[system]
                payload = {"model": t.model, "messages": [{"role": "user", "content": cfg.prompt}],
                           "max_tokens": 8}  # fmt: skip
                spec = LoadSpec(t.url, payload, conc, n, t.headers, deadline_s=cfg.deadline_s,
                                urls=t.urls)
                logger.warning("level c=%d round %d/%d: %s (%d requests)", conc, r + 1,
                               len(per_round), system, n)  # fmt: skip
                runs[system].append(run_load(spec, warmup=max(warm[r], conc)))
        levels.append(level_report(conc, {s: combine(rs) for s, rs in runs.items()}, runs))
        levels[-1]["rounds"] = len(per_round)
    return levels


def level_rounds(rounds: int, requests: int, concurrency: int) -> int:
    """Rounds for one level: at most ``rounds``, and at least 20 x C requests per round,
    so that a round's ramp-up and drain (C workers starting and finishing) stay a small
    part of it; saturated levels with few requests per client get a single round."""
    return max(1, min(rounds, requests // (20 * concurrency)))


def _split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal positive counts (fewer parts if total is small)."""
    parts = max(1, min(parts, total)) if total else 1
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def level_report(concurrency: int, results: dict[str, LoadResult],
                 rounds: dict[str, list[LoadResult]] | None = None) -> dict[str, Any]:
    """One level: each system's figures (over all rounds), added latency vs. direct, the
    per-round added p50 (its spread), and the lmroute/LiteLLM ratio."""
    base = results["direct"]
    systems: dict[str, Any] = {}
    for name, r in results.items():
        entry = r.as_dict()
        if name != "direct":
            entry["added_p50_ms"] = round(r.p50_ms - base.p50_ms, 3)
            entry["added_p99_ms"] = round(r.p99_ms - base.p99_ms, 3)
            if rounds is not None:
                entry["added_p50_ms_per_round"] = [
                    round(x.p50_ms - d.p50_ms, 3)
                    for x, d in zip(rounds[name], rounds["direct"], strict=True)]
        systems[name] = entry
    out: dict[str, Any] = {"concurrency": concurrency, "systems": systems}
    if "lmroute" in systems and "litellm" in systems:
        lm, ll = systems["lmroute"]["added_p50_ms"], systems["litellm"]["added_p50_ms"]
        out["ratio_added_p50_lmroute_over_litellm"] = round(lm / ll, 4) if ll > 0 else None
    if VARIANT in systems and "lmroute" in systems:
        out["variant_minus_lmroute"] = _paired(systems[VARIANT], systems["lmroute"])
    return out


def _paired(b: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    """b minus a: added p50 overall and per round (paired: same round, same conditions)."""
    per = [round(x - y, 3) for x, y in zip(b.get("added_p50_ms_per_round") or [],
                                           a.get("added_p50_ms_per_round") or [], strict=True)]
    return {"added_p50_ms": round(b["added_p50_ms"] - a["added_p50_ms"], 3),
            "added_p50_ms_per_round": per,
            "median_per_round_ms": round(float(statistics.median(per)), 3) if per else None}


def _summary(levels: list[dict[str, Any]]) -> dict[str, Any]:
    goal = {}
    for lvl in levels:
        lm = lvl["systems"].get("lmroute")
        if lm is not None:
            goal[str(lvl["concurrency"])] = {
                "lmroute_added_p50_ms": lm["added_p50_ms"],
                "under_2ms": lm["added_p50_ms"] < 2.0,
                "ratio_vs_litellm": lvl.get("ratio_added_p50_lmroute_over_litellm"),
            }
            if "variant_minus_lmroute" in lvl:
                goal[str(lvl["concurrency"])]["variant_minus_lmroute_added_p50_ms"] = \
                    lvl["variant_minus_lmroute"]["median_per_round_ms"]
    errors = sum(s["n_errors"] for lvl in levels for s in lvl["systems"].values())
    return {"goal_added_p50_under_2ms": goal, "total_errors": errors}


def _meta(cfg: BenchConfig) -> dict[str, Any]:
    return {
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "requests_per_level": cfg.requests, "warmup_per_level": cfg.warmup,
        "rounds_per_level": cfg.rounds,
        "backend_delay_ms": cfg.backend_delay_ms, "client": "aiohttp, keep-alive, closed loop",
        "prompt": cfg.prompt,
    }  # fmt: skip


def run_benchmark(cfg: BenchConfig) -> BenchReport:
    """Start everything, measure, stop everything (also on error)."""
    meta = _meta(cfg)
    with contextlib.ExitStack() as stack:
        work = cfg.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory("-lmbench")))
        work.mkdir(parents=True, exist_ok=True)
        backend = _start_backend(cfg, work, stack)
        targets = {"direct": Target(f"{backend}/chat/completions", BACKEND_MODEL)}
        if "lmroute" in cfg.systems:
            targets["lmroute"] = _start_lmroute(cfg, backend, work, stack, meta)
        if VARIANT in cfg.systems:
            targets[VARIANT] = _start_lmroute(cfg, backend, work, stack, meta, VARIANT,
                                              cfg.variant)
        if "litellm" in cfg.systems:
            targets["litellm"] = _start_litellm(cfg, backend, work, stack, meta)
        targets.update(_start_replica_sets(cfg, backend, work, stack, meta))
        levels = _measure(cfg, targets)
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = _summary(levels)
    if cfg.replicas:
        summary["replicas"] = rep.replica_summary(levels, cfg.replicas, cfg.shared)
    return BenchReport(meta, levels, summary)


def _start_replica_sets(cfg: BenchConfig, backend: str, work: Path, stack: contextlib.ExitStack,
                        meta: dict[str, Any]) -> dict[str, Target]:
    """One Target per (replica count, state mode) of ``--replicas`` / ``--shared``."""
    if cfg.router is not None and cfg.replicas and not (cfg.router / "manifest.json").exists():
        meta["router_train_s"] = round(train_bench_router(cfg.router, work / "train.log"), 1)
    sets = rep.start_all(cfg.replicas, cfg.shared, backend_url=backend,
                         backend_model=BACKEND_MODEL, router=cfg.router, model=cfg.model,
                         work=work, stack=stack, timeout_s=cfg.start_timeout_s, meta=meta)
    return {name: Target(rs.urls[0], rs.model, {"Authorization": f"Bearer {rs.key}"},
                         tuple(rs.urls)) for name, rs in sets.items()}


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the ExitStack stops every server."""

    def _raise(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    cfg = _config(args, parser)
    try:
        with _sigterm_as_exit():
            report = run_benchmark(cfg)
    except (ProcessError, RuntimeError, OSError) as exc:
        print(f"lmroute bench gateway: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(asdict(report), indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0
