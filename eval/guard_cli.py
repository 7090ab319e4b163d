"""``lmroute guard eval --guard DIR [--out DIR] [--split test|val] [--data ROOT]
[--int8] [--no-baseline] [--no-presidio] [--logger mlflow|none]``.

Writes OUT/metrics.json, OUT/scores.json (per-text scores of both scorers), OUT/report.md,
OUT/report.html and the PNG figures; prints the acceptance figures as JSON. Exit 2 on
bad input (missing artifact, missing data).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from data.locate import data_dir
from router_model.guard.artifact import ArtifactError

log = logging.getLogger("lmroute.guard.eval")


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="lmroute guard eval", description=__doc__)
    ap.add_argument("--guard", required=True, type=Path, help="guard artifact directory")
    ap.add_argument("--out", type=Path, default=Path("runs/guard_eval"))
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--data", type=Path, default=None, help="shared data root")
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--logger", choices=("mlflow", "none"), default="mlflow")
    return ap.parse_args(argv)


def _log_mlflow(out: Path, flat: dict[str, float], args: argparse.Namespace) -> None:
    import mlflow

    from train.tracking import default_tracking_uri

    mlflow.set_tracking_uri(default_tracking_uri(Path("runs")))
    mlflow.set_experiment("lmroute-guard-eval")
    with mlflow.start_run(run_name=f"guard-eval-{args.split}"):
        mlflow.log_params({"guard": str(args.guard), "split": args.split, "int8": args.int8})
        mlflow.log_metrics({k: float(v) for k, v in flat.items() if v == v})
        mlflow.log_artifacts(str(out), artifact_path="guard_eval")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parse(argv)
    from eval import guard_plots, guard_report
    from eval.guard_eval import GuardEvalConf, run_guard_eval

    data = args.data or Path(data_dir("guardrails"))
    conf = GuardEvalConf(args.guard, data, args.out, args.split, args.int8,
                         not args.no_baseline, not args.no_presidio)
    try:
        m = run_guard_eval(conf)
    except (ArtifactError, FileNotFoundError, ValueError) as e:
        print(f"lmroute guard eval: error: {e}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    figures = guard_plots.write_all(m, args.out)
    scores = m.pop("_scores")
    (args.out / "scores.json").write_text(json.dumps(scores))
    head = guard_report.headline(m)
    m["headline"] = head
    (args.out / "metrics.json").write_text(json.dumps(m, indent=2, default=str))
    m["_scores"] = scores
    _, page = guard_report.write(m, figures, args.out)
    if args.logger == "mlflow":
        _log_mlflow(args.out, head, args)
    print(json.dumps({"report": str(page), "headline": head}, indent=2))
    return 0
