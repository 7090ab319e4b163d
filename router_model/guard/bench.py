"""``lmroute bench guard --guard DIR``: the whole input check and the output filter, timed.

One thread. Inputs: real prompts of the shared data (RouterBench, plus one Presidio PII
sentence in every input, so the PII path is exercised) cut at a word boundary to 256 B,
2 KB and 16 KB (UTF-8). Reports p50 / p99 of ``Guard.check`` (normalise, rules, secrets,
tokenize, learned windows, tagger, policy, redaction) per size; the output filter's cost
per streamed chunk (a real model answer from RouterBench streamed in 4-character
chunks, the size of an SSE token delta); and, in the same run on the same inputs,
Presidio's analyzer as it installs offline (pattern recognizers over a blank spaCy
pipeline) with the ratio Presidio / guard; where Presidio cannot run the ratio is null and
``presidio_missing`` says why. Prints JSON (``--out`` also writes it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from router_model.guard.policy import make_policy
from router_model.guard.runtime import Guard
from router_model.guard.stream import OutputFilter

log = logging.getLogger(__name__)
SIZES = {"256B": 256, "2KB": 2048, "16KB": 16384}
CHUNK = 4


def _cut_bytes(text: str, n: int) -> str:
    """Prefix of ``text`` of at most ``n`` UTF-8 bytes, cut at whitespace."""
    raw = text.encode()[:n].decode(errors="ignore")
    cut = raw.rfind(" ")
    return raw[:cut] if cut > n // 2 else raw


def bench_inputs(size: int, count: int, seed: int = 0) -> list[str]:
    """``count`` texts of ~``size`` bytes: real prompts + one Presidio sentence each."""
    from data.locate import find_shared_data
    from router_model.bench_inputs import real_prompts

    root = find_shared_data("guardrails")
    prompts = real_prompts(None, limit=3000)
    pii = [x["full_text"] for x in json.loads(
        (root / "guardrails/pii/presidio_synth_dataset_v2.json").read_text())]
    rng = np.random.default_rng(seed + size)
    out = []
    for _ in range(count):
        text = pii[int(rng.integers(len(pii)))]
        while len(text.encode()) < size:
            text += "\n\n" + prompts[int(rng.integers(len(prompts)))]
        out.append(_cut_bytes(text, size))
    return out


def timed(fn: Any, texts: list[str], warmup: int = 10) -> np.ndarray:
    """(n, 2): wall-clock and this thread's CPU time per call, microseconds (on a shared
    machine the CPU time is what the call cost; wall-clock adds the waits for a core)."""
    for t in texts[:warmup]:
        fn(t)
    out = np.empty((len(texts), 2))
    for i, t in enumerate(texts):
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        fn(t)
        out[i] = ((time.perf_counter_ns() - t0) / 1e3, (time.thread_time_ns() - c0) / 1e3)
    return out


def stats(v: np.ndarray) -> dict[str, float]:
    wall, cpu = (v[:, 0], v[:, 1]) if v.ndim == 2 else (v, None)
    out = {"p50_us": float(np.percentile(wall, 50)), "p99_us": float(np.percentile(wall, 99)),
           "n": len(wall)}
    if cpu is not None:
        out |= {"cpu_p50_us": float(np.percentile(cpu, 50)),
                "cpu_p99_us": float(np.percentile(cpu, 99))}
    return out


def stream_cost(answers: list[str]) -> dict[str, Any]:
    """Per-chunk time of ``OutputFilter.feed`` over real answers in CHUNK-char pieces."""
    policy = make_policy("balanced")
    per: list[float] = []
    for a in answers:
        f = OutputFilter(policy, blocked=("internal use only",))
        for i in range(0, len(a), CHUNK):
            t0 = time.perf_counter_ns()
            f.feed(a[i:i + CHUNK])
            per.append((time.perf_counter_ns() - t0) / 1e3)
        f.finish()
    v = np.array(per)
    return {"chunk_chars": CHUNK, "chunks": len(v), "answers": len(answers),
            "p50_us": float(np.percentile(v, 50)), "p99_us": float(np.percentile(v, 99)),
            "mean_us": float(v.mean())}


def presidio_ratio(presidio: dict[str, float] | None, guard: dict[str, float],
                   why: str) -> tuple[float | None, str | None]:
    """(Presidio p50 / guard p50, None), or (None, why there is no ratio): a missing
    comparison is null with its reason, never a number."""
    if presidio is None:
        return None, why
    if not guard["p50_us"] > 0 or not presidio["p50_us"] > 0:
        return None, (f"no ratio: p50 of Presidio {presidio['p50_us']} us, "
                      f"of the guard {guard['p50_us']} us")
    return presidio["p50_us"] / guard["p50_us"], None


def size_row(size: int, texts: list[str], check: Any, presidio: Any, why: str,
             presidio_reps: int) -> dict[str, Any]:
    """One input size: the guard's timings and, on the first ``presidio_reps`` (at least
    20) of the same texts, Presidio's with the p50 ratio; without Presidio the ratio is
    None and ``presidio_missing`` says why (``why``: what ``load_presidio`` returned)."""
    row: dict[str, Any] = {"bytes": size, "guard": stats(timed(check, texts)),
                           "presidio": None}
    if presidio is not None:
        few = texts[: max(presidio_reps, 20)]
        row["presidio"] = stats(timed(presidio.analyze, few, warmup=3))
    ratio, missing = presidio_ratio(row["presidio"], row["guard"], why)
    row["presidio_over_guard_p50"] = ratio
    if missing is not None:
        row["presidio_missing"] = missing
    return row


def real_answers(count: int) -> list[str]:
    import pandas as pd

    from data.locate import find_shared_data

    path = find_shared_data("routerbench") / "routerbench/mbpp_train.csv"
    df = pd.read_csv(path, nrows=200)
    col = next(c for c in df.columns if c.endswith("|model_response"))
    return [str(x) for x in df[col].dropna().tolist()[:count]]


def run(args: argparse.Namespace) -> dict[str, Any]:
    guard = Guard.load(args.guard, int8=args.int8)
    out: dict[str, Any] = {"guard": str(args.guard), "int8": args.int8, "threads": 1,
                           "loadavg_start": os.getloadavg()[0], "sizes": {}}
    inputs = {k: bench_inputs(n, args.reps if n < 16384 else args.reps // 2)
              for k, n in SIZES.items()}
    presidio: Any = None
    if args.no_presidio:
        how = "not run: --no-presidio"
    else:
        from eval.guard_presidio import load_presidio

        presidio, how = load_presidio()
    out["presidio"] = how
    out["presidio_available"] = presidio is not None
    for name, texts in tqdm(inputs.items(), desc="bench guard", unit="size"):
        out["sizes"][name] = size_row(SIZES[name], texts, guard.check, presidio, how,
                                      args.presidio_reps)
    out["output_filter"] = stream_cost(real_answers(args.answers))
    out["loadavg_end"] = os.getloadavg()[0]
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lmroute bench guard", description=__doc__.splitlines()[0])
    p.add_argument("--guard", required=True, type=Path)
    p.add_argument("--reps", type=int, default=400, help="inputs per size (16 KB: half)")
    p.add_argument("--presidio-reps", type=int, default=60)
    p.add_argument("--answers", type=int, default=100, help="streamed answers")
    p.add_argument("--int8", action="store_true")
    p.add_argument("--no-presidio", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    for flag in ("reps", "presidio_reps", "answers"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    if args.reps < 2:
        p.error("--reps must be at least 2 (16 KB runs half as many inputs)")
    return args


def main(argv: list[str]) -> int:
    from router_model.bench import json_bench_main

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    return json_bench_main("lmroute bench guard", argv, parse, run)
