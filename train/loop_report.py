"""What one pass of the learning loop did, for people (``loop.md``), for tools
(``loop.json``) and in MLflow (experiment ``lmroute-loop``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from train.loop import LoopConfig, LoopResult

log = logging.getLogger(__name__)


def _est(ope: dict[str, Any] | None, name: str = "dr") -> str:
    e = (ope or {}).get(name) or {}
    if "mean" not in e:
        return "n/a"
    lo, hi = e.get("ci_low"), e.get("ci_high")
    ci = f" [{lo:.4f}, {hi:.4f}]" if lo is not None and hi is not None else ""
    return f"{e['mean']:.4f}{ci}"


def markdown(res: LoopResult) -> str:
    s = res.summary
    c, g = s["convert"], s.get("gate") or {}
    lines = ["# lmroute loop", "",
             f"Gate: **{'PASS' if res.passed else 'FAIL'}**" +
             (f" -> exported to `{s['exported']}`" if s.get("exported") else
              " -> nothing exported"), "",
             f"- {g.get('reason', 'no gate result')}",
             f"- logged requests kept: {c['kept']} ({c['train']} train, {c['holdout']} held out)"
             + (" — PLACEBO: training rewards shuffled" if c.get("placebo") else ""), "",
             "## Dropped rows (not learnable routing decisions)", "",
             "| reason | rows |", "|---|---:|"]
    lines += [f"| {why} | {n} |" for why, n in sorted(c["dropped"].items())] or ["| none | 0 |"]
    lines += ["", "## Off-policy estimates on the held-out traffic (utility, 95% CI)", "",
              "| policy | DR | IPS | SNIPS | DM |", "|---|---|---|---|---|"]
    for name, ope in (s.get("ope") or {}).items():
        lines.append(f"| {name} | {_est(ope)} | {_est(ope, 'ips')} | {_est(ope, 'snips')} | "
                     f"{_est(ope, 'dm')} |")
    if g:
        lines.append(f"| current router (DR mean) | {g['baseline_utility']:.4f} | | | |")
    lines += ["", "Evaluation report: `eval/report.html`; commands and their output: "
              "`train.log`, `eval.log`."]
    return "\n".join(lines) + "\n"


def write(res: LoopResult) -> Path:
    """loop.json + loop.md in the work dir; returns the markdown path."""
    (res.work_dir / "loop.json").write_text(json.dumps(
        {"passed": res.passed, **res.summary}, indent=2, default=str))
    md = res.work_dir / "loop.md"
    md.write_text(markdown(res))
    return md


def log_mlflow(cfg: LoopConfig, res: LoopResult) -> None:
    """One run in experiment ``lmroute-loop``: inputs, counts, gate, the report files."""
    from train.tracking import MlflowTracker, default_tracking_uri

    runs = Path(cfg.runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    t = MlflowTracker(default_tracking_uri(runs), "lmroute-loop", "lmroute-router",
                      runs / "mlartifacts", "loop")
    try:
        t.log_params({"logs": ",".join(cfg.logs), "current": cfg.current, "out": cfg.out,
                      "holdout": cfg.holdout, "split": cfg.split, "placebo": cfg.placebo,
                      "w_cost": cfg.w_cost, "w_latency": cfg.w_latency})
        c, g = res.summary["convert"], res.summary.get("gate") or {}
        t.log_metrics({"kept": c["kept"], "train_rows": c["train"], "holdout_rows": c["holdout"],
                       "gate_passed": float(res.passed),
                       **{f"gate_{k}": v for k, v in g.items() if isinstance(v, int | float)},
                       **{f"dropped_{i}": n for i, n in enumerate(c["dropped"].values())}})
        t._mlflow.log_artifacts(str(res.work_dir), artifact_path="loop")
    finally:
        t.finish(True)
