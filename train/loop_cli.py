"""``lmroute loop --logs DIR [DIR ...] --current ROUTER_DIR --out NEW_DIR [options]
[-- train overrides]``: one pass of the learning loop (train/loop.py).

Exit codes: 0 the candidate passed the gate and was exported to NEW_DIR; 1 it did not
(nothing exported; the report says why); 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys

from train.loop import LoopConfig, LoopError, run_loop


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmroute loop", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logs", nargs="+", required=True,
                   help="gateway log dirs (the log.dir of lmroute serve), globs, or parents")
    p.add_argument("--current", required=True, help="the router artifact serving now")
    p.add_argument("--out", required=True, help="where the new artifact goes if it passes")
    p.add_argument("--work", default="", help="report + scratch dir (default: OUT.loop)")
    p.add_argument("--holdout", type=float, default=0.3,
                   help="share of the logged requests held out for evaluation (0.3)")
    p.add_argument("--split", choices=("time", "random"), default="time",
                   help="hold out the newest requests (time) or a seeded random share")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--w-cost", type=float, default=0.0, help="utility weight per USD")
    p.add_argument("--w-latency", type=float, default=0.0, help="utility weight per ms")
    p.add_argument("--w-energy", type=float, default=0.0, help="utility weight per J")
    p.add_argument("--gate-margin", type=float, default=0.0)
    p.add_argument("--runs-dir", default="runs", help="MLflow store: RUNS_DIR/mlflow.db")
    p.add_argument("--logger", choices=("mlflow", "none"), default="mlflow")
    p.add_argument("--placebo", action="store_true",
                   help="negative control: train with every outcome of a row moved to another "
                        "row (against a competent router the gate must fail)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT")
    return p


def main(argv: list[str]) -> int:
    from train.loop_report import log_mlflow, write

    own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    try:
        a = parser().parse_args(own)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = LoopConfig(logs=a.logs, current=a.current, out=a.out, work=a.work,
                     holdout=a.holdout, split=a.split, seed=a.seed, w_cost=a.w_cost,
                     w_latency=a.w_latency, w_energy=a.w_energy, gate_margin=a.gate_margin,
                     runs_dir=a.runs_dir, logger=a.logger, placebo=a.placebo, force=a.force,
                     train_overrides=extra)
    try:
        res = run_loop(cfg)
    except (LoopError, FileNotFoundError, ValueError) as exc:
        print(f"lmroute loop: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    md = write(res)
    if cfg.logger == "mlflow":
        log_mlflow(cfg, res)
    print(md.read_text())
    print(f"report: {md}")
    return 0 if res.passed else 1
