"""``lmroute bench train --n 1000000``: train + export on N synthetic tuples, timed.
``lmroute bench train --stream --rows 2000000,20000000``: streamed training, peak memory
per log size (``train/bench_scale.py``).

N tuples = N / M requests x M models (``data.synthetic``, 10 models). Runs the real
pipeline (static featurizer, supervised policy, dynamo ONNX export, int8) with
tracking off and prints JSON: wall time per stage, total, rows/s, and the goal.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from train.bench_scale import parse_rows

GOAL_S = 300.0
SYNTHETIC_MODELS = 10  # train.sources builds synthetic logs with 10 models


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lmroute bench train", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="logged tuples (requests x models)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-int8", action="store_true")
    p.add_argument("--out", default=None, help="artifact directory (default: a temp dir)")
    # --stream: train/bench_scale.py (streamed training, peak memory per log size)
    p.add_argument("--stream", action="store_true",
                   help="streamed training (trainer=stream) on synthetic logs of --rows sizes, "
                        "peak memory side by side")
    p.add_argument("--rows", type=parse_rows, default=[2_000_000, 20_000_000],
                   help="with --stream: log sizes in rows (requests x 10 models)")
    p.add_argument("--nproc", type=int, default=1, help="with --stream: torchrun processes")
    p.add_argument("--chunk-requests", type=int, default=100_000,
                   help="with --stream: requests per generated Parquet part")
    p.add_argument("--chunk-train", type=int, default=65_536,
                   help="with --stream: trainer.chunk_requests")
    p.add_argument("--data-dir", type=Path, default=Path("runs/bench/train_scale/logs"))
    p.add_argument("--work", type=Path, default=Path("runs/bench/train_scale"))
    p.add_argument("--plot", type=Path, default=Path("runs/bench/train_scale/rss.png"))
    p.add_argument("--json", type=Path, default=None, help="with --stream: also write the JSON")
    return p.parse_args(argv)


def run(args: argparse.Namespace, out_dir: Path) -> dict[str, object]:
    from router_model.featurizer_spec import StaticSpec
    from router_model.policies.supervised import SupervisedPolicy
    from train.config import (
        DataConf,
        ExportConf,
        RewardConf,
        TrainConf,
        TrainerConf,
    )
    from train.data_sources import SyntheticSource
    from train.pipeline import run_training
    from train.tracking import NullTracker

    if args.n < 1000:
        raise ValueError(f"--n: expected >= 1000 tuples, got {args.n}")
    conf = TrainConf(
        data=DataConf(_target_="train.data_sources.SyntheticSource", synthetic_tuples=args.n,
                      val_fraction=0.02),
        policy=None, reward=RewardConf(w_costs=[0.0, 1e3, 1e4, 1e5], baselines=[]),
        trainer=TrainerConf(seed=0, threads=args.threads),
        export=ExportConf(out_dir=str(out_dir), int8=not args.no_int8, calibration_size=256))
    policy = SupervisedPolicy(hidden=64, depth=1, epochs=args.epochs, n_ensemble=1,
                              batch_size=2048, lr=3e-3)
    t0 = time.perf_counter()
    source = SyntheticSource(synthetic_tuples=args.n, val_fraction=0.02)
    res = run_training(conf, policy, NullTracker(), source,
                       StaticSpec(dim=256, max_tokens=512, batch_size=4096))
    total = time.perf_counter() - t0
    return {"tuples": args.n, "models": SYNTHETIC_MODELS, "threads": args.threads,
            "epochs": args.epochs, "total_s": total, "stages_s": res.timings_s,
            "tuples_per_s": args.n / total, "goal_s": GOAL_S, "meets_goal": total < GOAL_S,
            "val_auc_quality": res.metrics.get("val_auc_quality"),
            "int8_agreement": res.metrics.get("int8_agreement")}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        args = parse(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        if args.stream:
            return _stream(args)
        if args.out:
            result = run(args, Path(args.out))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result = run(args, Path(tmp) / "router")
    except ValueError as e:
        print(f"lmroute bench train: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # --stream: a training run failed (its log is named)
        print(f"lmroute bench train: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def _stream(args: argparse.Namespace) -> int:
    from train import bench_scale

    if args.nproc < 1:
        raise ValueError(f"--nproc: expected >= 1, got {args.nproc}")
    args.work.mkdir(parents=True, exist_ok=True)
    report = bench_scale.run(args)
    text = json.dumps(report, indent=2)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0
