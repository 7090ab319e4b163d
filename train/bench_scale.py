"""``lmroute bench train --stream --rows 2000000,20000000``: streamed training on synthetic
logs of several sizes, side by side, with the peak memory of each run.

Per size: a synthetic full-information log (10 models; ``rows / 10`` requests) is written
to Parquet in chunks of ``--chunk-requests`` requests (each chunk an independently seeded
``data.synthetic`` log, so the generator's memory is one chunk; cached under
``--data-dir``), then ``lmroute train data=logs trainer=stream`` trains and exports on it
in a child process (``torchrun`` with ``--nproc`` > 1), whose peak resident memory is
measured twice: the kernel's ``ru_maxrss`` of the child tree's largest process, and a
0.5 s sampling of the whole tree's RSS (also plotted: ``--plot``). The JSON gives, per size,
the wall time per stage, rows/s, both peaks, and the ratio of the largest size's peak to
the smallest's (memory that grew with the log would show here).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MODELS = 10


def parse_rows(text: str) -> list[int]:
    try:
        rows = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--rows: expected e.g. 2000000,20000000: {exc}") from exc
    if not rows or min(rows) < 100 * MODELS:
        raise argparse.ArgumentTypeError(f"--rows: expected sizes >= {100 * MODELS}, got {text!r}")
    return rows


def write_log(rows: int, out: Path, chunk_requests: int, seed: int = 0) -> dict[str, Any]:
    """The synthetic log of ``rows`` rows as Parquet parts under ``out`` (reused when a
    complete one is there: ``<out>.done.json`` beside the directory, never in it: a
    non-Parquet file among the logs would make the source load them in memory)."""
    from tqdm import tqdm

    from data.io import write_parquet
    from data.synthetic import make_synthetic

    done = out.parent / f"{out.name}.done.json"
    if done.exists() and json.loads(done.read_text()).get("rows") == rows:
        return dict(json.loads(done.read_text()))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    t0, requests = time.perf_counter(), rows // MODELS
    for k, start in enumerate(tqdm(range(0, requests, chunk_requests), desc=f"log {rows:,}",
                                   unit="chunk")):
        n = min(chunk_requests, requests - start)
        write_parquet(make_synthetic(n, models=MODELS, seed=seed * 100_000 + k).frame,
                      out / f"part-{k:05d}.parquet")
    meta = {"rows": requests * MODELS, "requests": requests, "generate_s": time.perf_counter() - t0,
            "bytes": sum(f.stat().st_size for f in out.glob("part-*.parquet"))}
    done.write_text(json.dumps(meta))
    return meta


def train_argv(data: Path, out: Path, args: argparse.Namespace) -> list[str]:
    overrides = [
        "data=logs", f"data.paths=[{data}]", "data.val_fraction=0.02", "trainer=stream",
        f"trainer.threads={args.threads}", f"trainer.chunk_requests={args.chunk_train}",
        f"trainer.work_dir={out}.work", "featurizer.dim=256", "featurizer.batch_size=4096",
        "policy.hidden=64", "policy.depth=1", f"policy.epochs={args.epochs}",
        "policy.n_ensemble=1", "policy.batch_size=2048", "policy.lr=0.003",
        "reward.w_costs=[0,1000,10000,100000]", "reward.baselines=[task_prior]",
        "export.calibration_size=256", f"export.int8={'false' if args.no_int8 else 'true'}",
        "logger=none", f"export.out_dir={out}", f"runs_dir={out}.runs"]
    if args.nproc > 1:
        from serve.net import free_port

        return [str(Path(sys.executable).with_name("torchrun")), "--nproc_per_node",
                str(args.nproc), "--master_port", str(free_port()), "-m", "lmroute_cli",
                "train", *overrides]
    return [sys.executable, "-m", "lmroute_cli", "train", *overrides]


def _sample_tree(pid: int, samples: list[tuple[float, float]], stop: threading.Event) -> None:
    """(seconds, RSS MB of the process and all its descendants) every 0.5 s."""
    import psutil

    t0 = time.perf_counter()
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.wait(0.5):
        try:
            procs = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in procs if p.is_running())
        except psutil.Error:
            continue
        samples.append((time.perf_counter() - t0, rss / 2**20))


def measure(argv: list[str], log_path: Path) -> dict[str, Any]:
    """Run one training in a fresh wrapper process (so ``ru_maxrss`` of its children is
    this run's alone); returns its summary JSON, peaks and the RSS samples."""
    wrapper = ("import resource, subprocess, sys, json; rc = subprocess.call(sys.argv[1:]); "
               "print(json.dumps({'rc': rc, 'maxrss_kb': "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), file=sys.stderr)")
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-c", wrapper, *argv], stdout=log,
                                stderr=subprocess.PIPE, text=True)
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, samples, stop))
        sampler.start()
        _, err = proc.communicate()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - t0
    status = json.loads(err.strip().splitlines()[-1])
    if status["rc"] != 0:
        raise RuntimeError(f"training failed (exit {status['rc']}); log {log_path}")
    text = log_path.read_text()
    summary = json.loads(text[text.index("{\n"):text.rindex("}") + 1])
    return {"wall_s": wall, "summary": summary, "samples": samples,
            "peak_rss_mb_largest_process": status["maxrss_kb"] / 1024,
            "peak_rss_mb_tree": max((s[1] for s in samples), default=0.0)}


def _summary(text: str) -> dict[str, Any]:
    """The main process's summary JSON among what the training printed (under torchrun
    every rank prints one; only the main one has the metrics)."""
    blocks, cur = [], None
    for line in text.splitlines():
        if line == "{":
            cur = [line]
        elif cur is not None:
            cur.append(line)
            if line == "}":
                blocks.append(json.loads("\n".join(cur)))
                cur = None
    main = [b for b in blocks if "val_auc_quality" in b]
    if not main:
        raise RuntimeError("the training printed no summary with metrics")
    return dict(main[-1])


def _row(rows_meta: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    s = m["summary"]
    return {"rows": rows_meta["rows"], "requests": rows_meta["requests"],
            "log_bytes": rows_meta["bytes"], "generate_s": round(rows_meta["generate_s"], 1),
            "wall_s": round(m["wall_s"], 1),
            "stages_s": {k: round(v, 1) for k, v in s["timings_s"].items()},
            "rows_per_s": round(rows_meta["rows"] / m["wall_s"], 1),
            "peak_rss_mb_largest_process": round(m["peak_rss_mb_largest_process"], 1),
            "peak_rss_mb_tree": round(m["peak_rss_mb_tree"], 1),
            "val_auc_quality": s.get("val_auc_quality"),
            "baseline_task_prior_auc_quality": s.get("baseline_task_prior_auc_quality"),
            "int8_agreement": s.get("int8_agreement"), "samples": m["samples"]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every size (see module); returns the report."""
    results = []
    for rows in args.rows:
        data = write_log(rows, args.data_dir / f"rows_{rows}", args.chunk_requests)
        out = args.work / f"router_{rows}"
        m = measure(train_argv(args.data_dir / f"rows_{rows}", out, args),
                    args.work / f"train_{rows}.log")
        results.append(_row(data, m))
    if args.plot:
        plot(results, args.plot)
    small, large = results[0], results[-1]
    ratio = large["peak_rss_mb_largest_process"] / max(small["peak_rss_mb_largest_process"], 1.0)
    for r in results:
        del r["samples"]
    return {"processes": args.nproc, "epochs": args.epochs, "threads": args.threads,
            "sizes": results, "peak_ratio_largest_over_smallest": round(ratio, 3),
            "rows_ratio_largest_over_smallest": round(large["rows"] / small["rows"], 1),
            "plot": str(args.plot) if args.plot else None}


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for r in results:
        xs, ys = zip(*r["samples"], strict=True) if r["samples"] else ((), ())
        ax.plot(xs, ys, label=f"{r['rows']:,} rows (peak {r['peak_rss_mb_tree']:.0f} MB)")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("resident memory of the training (MB)")
    ax.set_title("lmroute train trainer=stream: memory over time per log size")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
