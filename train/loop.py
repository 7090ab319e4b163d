"""One pass of the learning loop: the gateway's own traffic trains the next router.

    gateway logs -> (convert, split) -> off-policy training -> OPE + deploy gate -> export

1. convert: ``data/convert/gateway.py`` keeps the router's learnable, graded decisions and
   counts what it drops; the kept requests are split (newest ``holdout`` share by time, or a
   seeded random split) into ``train.parquet`` and ``holdout.parquet``;
2. train: ``lmroute train data=logs data.feedback=bandit policy=offpolicy`` (the DR/IPS
   learner) on the training part, over the current router's models, into a staging dir;
3. evaluate: ``lmroute eval`` on the held-out part with ``baseline_router`` = the router
   serving now: DM / IPS / SNIPS / DR estimates and the deploy gate (paired bootstrap of the
   per-request DR terms, candidate minus current);
4. export: only when the gate passes, the staging dir is renamed to ``out``; otherwise
   ``out`` is not created and the command exits 1. The report (``loop.json``, ``loop.md``,
   the eval report) stays in ``work`` either way.
Steps 2 and 3 are the same ``lmroute`` commands a user would run (each logs to MLflow in
``runs_dir`` like ``lmroute train``); the loop's own summary is an MLflow run of
experiment ``lmroute-loop``. ``placebo`` trains on outcomes shuffled across the training
requests (``placebo_rewards``): a sanity check of the gate, which must then fail against
a competent current router.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)
MIN_ROWS = 50  # per part; fewer and neither the learner nor the gate means anything


@dataclass
class LoopConfig:
    """Everything one pass needs (``lmroute loop --help`` documents each)."""

    logs: list[str]
    current: str
    out: str
    work: str = ""  # "" = <out>.loop
    holdout: float = 0.3
    split: str = "time"  # "time" (newest requests held out) | "random"
    seed: int = 0
    w_cost: float = 0.0
    w_latency: float = 0.0
    w_energy: float = 0.0
    gate_margin: float = 0.0
    runs_dir: str = "runs"
    logger: str = "mlflow"  # mlflow | none
    placebo: bool = False
    force: bool = False  # replace an existing ``out``
    train_overrides: list[str] = field(default_factory=list)

    @property
    def work_dir(self) -> Path:
        return Path(self.work or f"{self.out.rstrip('/')}.loop")


@dataclass
class LoopResult:
    passed: bool
    summary: dict[str, Any]
    work_dir: Path


class LoopError(ValueError):
    """Bad input to the loop (one line, exit 2)."""


def split_log(df: pd.DataFrame, holdout: float, how: str, seed: int
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) parts of a bandit log, by request."""
    if not 0.0 < holdout < 1.0:
        raise LoopError(f"--holdout: expected a fraction in (0, 1), got {holdout}")
    n_hold = round(len(df) * holdout)
    if how == "time":
        order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
    elif how == "random":
        order = np.random.default_rng(seed).permutation(len(df))
    else:
        raise LoopError(f"--split: expected 'time' or 'random', got {how!r}")
    hold = np.sort(order[len(df) - n_hold:])
    train = np.setdiff1d(np.arange(len(df)), hold)
    return df.iloc[train].reset_index(drop=True), df.iloc[hold].reset_index(drop=True)


# what a routing decision is rewarded or charged for: the placebo shuffles them together
PLACEBO_COLUMNS = ("quality", "cost_usd", "latency_ms", "energy_j", "prompt_tokens",
                   "completion_tokens")


def placebo_rewards(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The negative control: the same log with every outcome of a row (``PLACEBO_COLUMNS``)
    moved, together, to another row, so no outcome is tied to its request or its model any
    more (shuffling quality alone leaves the per-model costs to learn, which can beat a
    router that is wrong about them)."""
    order = np.random.default_rng(seed + 1).permutation(len(df))
    return df.assign(**{c: df[c].to_numpy()[order] for c in PLACEBO_COLUMNS if c in df.columns})


def convert_step(cfg: LoopConfig, models: list[str]) -> dict[str, Any]:
    """Gateway logs -> train.parquet + holdout.parquet in the work dir; the drop report."""
    from data.convert import convert
    from data.io import write_parquet

    res = convert("gateway", cfg.logs)
    df = res.frame
    unknown = sorted(set(df["model"]) - set(models))
    if unknown:
        raise LoopError(f"--logs: rows name models the current router does not route over: "
                        f"{unknown[:5]} (was the log written by another router?)")
    train, hold = split_log(df, cfg.holdout, cfg.split, cfg.seed)
    if min(len(train), len(hold)) < MIN_ROWS:
        raise LoopError(f"--logs: {len(df)} learnable, graded routing decisions "
                        f"({len(train)} to train, {len(hold)} held out); at least "
                        f"{MIN_ROWS} per part are needed ({'; '.join(res.summary_lines())})")
    if cfg.placebo:
        train = placebo_rewards(train, cfg.seed)
    write_parquet(train, cfg.work_dir / "train.parquet")
    write_parquet(hold, cfg.work_dir / "holdout.parquet")
    return {"kept": len(df), "train": len(train), "holdout": len(hold),
            "dropped": res.skipped, "per_file": len(res.rows_per_file),
            "placebo": cfg.placebo}


def lmroute_step(args: list[str], log_path: Path) -> int:
    """Run one ``lmroute`` command (printed, output teed to ``log_path``); its exit code."""
    cmd = [sys.executable, "-m", "lmroute_cli", *args]
    log.info("$ lmroute %s", " ".join(shlex.quote(a) for a in args))
    with log_path.open("w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    return proc.returncode


def train_args(cfg: LoopConfig, models: list[str], staging: Path) -> list[str]:
    w = cfg.work_dir
    return ["train", "data=logs", "data.feedback=bandit", "policy=offpolicy",
            f"data.paths=[{w / 'train.parquet'}]", f"data.models=[{','.join(models)}]",
            "data.val_fraction=0.1", f"export.out_dir={staging}", f"runs_dir={cfg.runs_dir}",
            f"logger={'none' if cfg.logger == 'none' else 'mlflow'}",
            f"hydra.run.dir={w / 'hydra_train'}", *cfg.train_overrides]


def eval_args(cfg: LoopConfig, staging: Path) -> list[str]:
    w = cfg.work_dir
    # no train_log: the baselines are fitted on full-information logs, and these are bandit
    return ["eval", f"router={staging}", f"test_log={w / 'holdout.parquet'}",
            f"baseline_router={cfg.current}",
            f"out_dir={w / 'eval'}", f"gate_margin={cfg.gate_margin}",
            f"weights.w_cost={cfg.w_cost}", f"weights.w_latency={cfg.w_latency}",
            f"weights.w_energy={cfg.w_energy}",
            f"logger={'none' if cfg.logger == 'none' else 'mlflow'}",
            f"logger.tracking_uri={_tracking_uri(cfg)}"]


def _tracking_uri(cfg: LoopConfig) -> str:
    """The one MLflow store of the pass (training, evaluation and the loop's own run)."""
    return f"sqlite:///{(Path(cfg.runs_dir) / 'mlflow.db').resolve()}"


def _current_models(path: str) -> list[str]:
    manifest = Path(path) / "manifest.json"
    try:
        models = json.loads(manifest.read_text())["models"]
    except (OSError, ValueError, KeyError) as exc:
        raise LoopError(f"--current: {manifest}: not a router artifact ({exc})") from exc
    return [str(m) for m in models]


def run_loop(cfg: LoopConfig) -> LoopResult:
    """The whole pass (see the module docstring)."""
    out, work = Path(cfg.out), cfg.work_dir
    if out.exists() and not cfg.force:
        raise LoopError(f"--out: {out} exists (pass --force to replace it)")
    models = _current_models(cfg.current)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    summary: dict[str, Any] = {"config": asdict(cfg), "models": models}
    summary["convert"] = convert_step(cfg, models)
    staging = work / "candidate"
    if (code := lmroute_step(train_args(cfg, models, staging), work / "train.log")) != 0:
        raise LoopError(f"training failed (exit {code}); see {work / 'train.log'}")
    code = lmroute_step(eval_args(cfg, staging), work / "eval.log")
    if code not in (0, 1):
        raise LoopError(f"evaluation failed (exit {code}); see {work / 'eval.log'}")
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    summary["gate"] = metrics.get("gate")
    summary["ope"] = {"candidate": metrics.get("ope"),
                      **{name: b.get("ope") for name, b in
                         (metrics.get("baselines") or {}).items()}}
    passed = code == 0 and bool((summary["gate"] or {}).get("passed"))
    if passed:
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    summary["exported"] = str(out) if passed else None
    return LoopResult(passed, summary, work)
