"""``lmroute bench router --router DIR``: end-to-end routing latency and throughput.

Raw text -> Decision on one thread (tokenization included), p50 / p99 per prompt
length (16..512 tokens of real prompts, tail kept) and overall, batched throughput,
and, in the same run, the same policy architecture behind the transformer featurizer
(all-MiniLM-L6-v2 in the graph). Prints JSON; ``--out`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from router_model.artifact import ArtifactError
from router_model.bench_inputs import LENGTHS, prompts_of_length, real_prompts
from router_model.runtime import Router

log = logging.getLogger(__name__)


def latency_us(router: Router, texts: list[str], warmup: int) -> np.ndarray:
    """Per-call wall time (µs) of ``router.route`` over texts, after warm-up calls."""
    for t in texts[:warmup]:
        router.route(t)
    out = np.empty(len(texts))
    for i, t in enumerate(texts):
        t0 = time.perf_counter_ns()
        router.route(t)
        out[i] = (time.perf_counter_ns() - t0) / 1e3
    return out


def throughput_qps(router: Router, texts: list[str], batch: int, seconds: float) -> float:
    """Queries per second with ``route_batch`` of ``batch`` texts (single thread)."""
    router.route_batch(texts[:batch])
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for i in range(0, len(texts), batch):
            router.route_batch(texts[i:i + batch])
            done += len(texts[i:i + batch])
    return done / (time.perf_counter() - t0)


def measure(router: Router, by_len: dict[int, list[str]], reps: int, label: str,
            batch: int, seconds: float) -> dict[str, Any]:
    """p50/p99 per length and overall, plus batched throughput."""
    per, allv = {}, []
    for n in tqdm(LENGTHS, desc=f"bench {label}", unit="length"):
        texts = (by_len[n] * (reps // len(by_len[n]) + 1))[:reps]
        v = latency_us(router, texts, warmup=min(20, reps))
        per[str(n)] = {"p50_us": float(np.percentile(v, 50)),
                       "p99_us": float(np.percentile(v, 99)), "n": len(v)}
        allv.append(v)
    v = np.concatenate(allv)
    mixed = [t for n in LENGTHS for t in by_len[n]]
    return {"p50_us": float(np.percentile(v, 50)), "p99_us": float(np.percentile(v, 99)),
            "per_length": per, "throughput_qps": throughput_qps(router, mixed, batch, seconds),
            "throughput_batch": batch}


def transformer_router(router: Router, tmp: Path, exporter: str) -> Router:
    """Same policy architecture behind the MiniLM featurizer, as a loadable artifact."""
    from router_model.transformer_variant import build_transformer_artifact

    build_transformer_artifact(router, tmp, exporter)
    return Router.load(tmp)


def by_provider(args: argparse.Namespace, by_len: dict[int, list[str]]) -> dict[str, Any]:
    """fp32 (and int8) latency per execution provider, measured one after the other in
    this run, with p50 / p99 ratios to the first provider."""
    out: dict[str, Any] = {}
    for prov in [p.strip() for p in args.providers.split(",") if p.strip()]:
        for int8 in (False, True) if args.int8 else (False,):
            r = Router.load(args.router, providers=[prov], int8=int8)
            key = prov + (":int8" if int8 else "")
            out[key] = measure(r, by_len, args.reps, key, args.batch, args.seconds)
            out[key]["session_providers"] = r.session.get_providers()
    first = next(iter(out.values()))
    for v in out.values():
        v["ratio_p50_vs_first"] = v["p50_us"] / first["p50_us"]
        v["ratio_p99_vs_first"] = v["p99_us"] / first["p99_us"]
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lmroute bench router", description=__doc__.splitlines()[0])
    p.add_argument("--router", required=True, help="artifact directory")
    p.add_argument("--prompts", default=None, help="text file, one prompt per line "
                   "(default: RouterBench prompts from the shared data)")
    p.add_argument("--reps", type=int, default=300, help="calls per length (static)")
    p.add_argument("--transformer-reps", type=int, default=20, help="calls per length")
    p.add_argument("--batch", type=int, default=64, help="batch size for throughput")
    p.add_argument("--seconds", type=float, default=3.0, help="throughput duration")
    p.add_argument("--no-transformer", action="store_true", help="skip the comparison")
    p.add_argument("--int8", action="store_true", help="also measure router_int8.onnx")
    p.add_argument("--exporter", default="legacy", choices=["dynamo", "legacy"])
    p.add_argument("--providers", default="", help="comma-separated ONNX Runtime execution "
                   "providers to measure side by side in the same run (e.g. "
                   "CPUExecutionProvider,OpenVINOExecutionProvider); ratios vs the first")
    p.add_argument("--out", default=None, help="also write the JSON here")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    router = Router.load(args.router)
    prompts = real_prompts(args.prompts)
    by_len = {n: prompts_of_length(router.tokenizer, prompts, n, 50, seed=n) for n in LENGTHS}
    result: dict[str, Any] = {"router": str(args.router), "models": len(router.models),
                              "threads": 1, "lengths": list(LENGTHS),
                              "load_average": list(os.getloadavg())}
    result["static"] = measure(router, by_len, args.reps, "static", args.batch, args.seconds)
    if args.int8:
        r8 = Router.load(args.router, int8=True)
        result["static_int8"] = measure(r8, by_len, args.reps, "int8", args.batch,
                                        args.seconds)
    if args.providers:
        result["providers"] = by_provider(args, by_len)
    if not args.no_transformer:
        with tempfile.TemporaryDirectory() as tmp:
            tr = transformer_router(router, Path(tmp), args.exporter)
            result["transformer"] = measure(tr, by_len, args.transformer_reps, "transformer",
                                            min(args.batch, 16), args.seconds)
            result["transformer"]["policy_weights"] = "same architecture, untrained " \
                "(latency does not depend on the weights)"
        result["speedup_p50"] = result["transformer"]["p50_us"] / result["static"]["p50_us"]
        result["speedup_p99"] = result["transformer"]["p99_us"] / result["static"]["p99_us"]
    return result


def json_bench_main(prog: str, argv: list[str], parse: Callable[[list[str]], Any],
                    run: Callable[[Any], dict[str, Any]]) -> int:
    """A benchmark command's shell: parse (exit 2 on bad flags), run, print the result as
    JSON and write it to ``--out`` when given; bad input is one line and exit 2."""
    logging.basicConfig(level=logging.WARNING)
    try:
        args = parse(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        result = run(args)
    except (ArtifactError, ValueError, FileNotFoundError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def main(argv: list[str]) -> int:
    return json_bench_main("lmroute bench router", argv, parse, run)
