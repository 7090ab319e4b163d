"""``lmroute eval`` end to end: load the artifact(s) and the logs, run every policy, compute
the metrics, write metrics.json, the plots and the report, log to MLflow, apply the gate.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.matrix import BanditLog, FullInfo
from eval.bandit import evaluate_bandit, prepare_rounds
from eval.bootstrap import Bootstrap
from eval.candidates import Candidate, PolicyCandidate, RouterCandidate, decision_latency_us
from eval.config import EvalConfig
from eval.full_info import ROUTER, EvalSettings, decide, evaluate
from eval.gate import GateResult, gate
from eval.ope import BanditData, round_values
from eval.replay import drop_incomplete, realised
from router_model.policies import baselines as _baselines  # noqa: F401  (registers)
from router_model.policies import make_policy

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
CURVE_BASELINES = ("knn", "task_prior", "oracle")


class EvalInputError(ValueError):
    """Bad input (missing file, wrong log, model mismatch): one line, exit 2."""


@dataclass
class EvalOutcome:
    metrics: dict[str, Any]
    gate: GateResult | None
    out_dir: Path


def load_log(path: str, what: str) -> pd.DataFrame:
    """A canonical log (Parquet file or directory) as a frame; clear error when absent."""
    from data.io import read_frame

    try:
        df = read_frame(path)
    except FileNotFoundError as exc:
        raise EvalInputError(f"{what}: {exc}") from exc
    if df.empty:
        raise EvalInputError(f"{what}: {path} holds no rows")
    from data.validate import validate_frame

    errors = validate_frame(df).errors
    if errors:
        p = errors[0]
        rows = f" (rows {', '.join(map(str, p.rows))}; {p.count} in all)" if p.count else ""
        raise EvalInputError(
            f"{what}: {path}: column {p.column} ({p.rule}): expected {p.message}{rows}; "
            f"{len(errors)} problem(s), see `lmroute data validate {path}`"
        )
    return df


def log_kind(df: pd.DataFrame, what: str) -> str:
    """``full_info`` (no propensities) or ``bandit`` (every row has one)."""
    p = df["propensity"].notna()
    if not p.any():
        return "full_info"
    if p.all():
        return "bandit"
    raise EvalInputError(
        f"{what}: propensity is set on {int(p.sum())} of {len(p)} rows; "
        "expected all (bandit log) or none (full-information log)"
    )


def load_router(path: str, what: str) -> Any:
    """``router_model.runtime.Router.load`` with a one-line error."""
    try:
        from router_model.runtime import Router
    except ImportError as exc:
        raise EvalInputError(f"{what}: router runtime unavailable ({exc})") from exc
    if not Path(path).is_dir():
        raise EvalInputError(f"{what}: {path} is not a router artifact directory")
    try:
        return Router.load(path)
    except Exception as exc:  # ArtifactError and friends: report, do not trace back
        raise EvalInputError(f"{what}: cannot load {path}: {exc}") from exc


def _check_models(df: pd.DataFrame, models: list[str], what: str) -> None:
    missing = sorted(set(models) - set(df["model"].unique()))
    if missing:
        raise EvalInputError(f"{what}: the router's models {missing} have no rows in the log")


def w_cost_grid(
    full: FullInfo, n_points: int, w_min: float | None, w_max: float | None
) -> tuple[float, ...]:
    """0 plus ``n_points - 1`` log-spaced cost weights (automatic range from mean costs)."""
    cost = full.cost_usd.mean(axis=0)
    pos = cost[cost > 0]
    if len(pos) == 0:
        return (0.0,)
    lo = w_min if w_min is not None else 0.01 / pos.max()
    hi = w_max if w_max is not None else max(10.0 / pos.min(), lo * 10)
    return (0.0, *np.logspace(np.log10(lo), np.log10(hi), max(n_points - 1, 1)).tolist())


def settings(cfg: EvalConfig, grid: tuple[float, ...]) -> EvalSettings:
    b = cfg.bootstrap
    return EvalSettings(
        cfg.weights.to_weights(), grid, b.n_boot, b.seed, b.alpha, cfg.quality_frac, cfg.min_slice
    )


def _train_baselines(
    cfg: EvalConfig, models: list[str], router: Any, X: np.ndarray, tasks: np.ndarray
) -> dict[str, Candidate]:
    """random, cheapest, knn, task_prior fitted on the training log (router embeddings)."""
    want = [n for n in cfg.baselines.names if n != "oracle"]
    if cfg.train_log is None:
        if want:
            log.warning("no train_log: baselines %s skipped", want)
        return {}
    df = load_log(cfg.train_log, "train_log")
    _check_models(df, models, "train_log")
    train, n_drop = drop_incomplete(FullInfo.from_frame(df, models=models))
    log.info("train log: %d requests (%d incomplete dropped); embedding", len(train), n_drop)
    if not len(train):
        raise EvalInputError("train_log: no request has an outcome for every model (a bandit "
                             "log?); the baselines need a full-information log, or leave "
                             "train_log out")
    X_train = RouterCandidate(router, list(train.queries)).embed()
    kw: dict[str, dict[str, Any]] = {
        "knn": {"k": cfg.baselines.knn_k},
        "random": {"seed": cfg.baselines.seed},
    }
    return {
        name: PolicyCandidate(make_policy(name, **kw.get(name, {})).fit(X_train, train), X, tasks)
        for name in want
    }


def run(cfg: EvalConfig) -> EvalOutcome:
    """Evaluate ``cfg.router`` on ``cfg.test_log``; write everything under ``cfg.out_dir``."""
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    router = load_router(cfg.router, "router")
    models = list(router.models)
    df = load_log(cfg.test_log, "test_log")
    _check_models(df, models, "test_log")
    kind = log_kind(df, "test_log")
    if kind == "bandit":
        metrics, gate_res = _run_bandit(cfg, router, df, models)
    else:
        metrics, gate_res = _run_full(cfg, router, df, models)
    metrics = {
        "format_version": FORMAT_VERSION,
        "log_kind": kind,
        "models": models,
        "weights": _finite(vars(cfg.weights)),
        "router_path": str(cfg.router),
        **metrics,
    }
    if gate_res is not None:
        metrics["gate"] = gate_res.to_dict()
    metrics = _clean(metrics)
    (out_dir / "metrics.json").write_text(
        json.dumps(metrics, indent=2, allow_nan=False, default=_json_default)
    )
    return EvalOutcome(metrics, gate_res, out_dir)


def _finite(d: dict[str, float]) -> dict[str, float | None]:
    """JSON has no infinity: unlimited constraints become null."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def _clean(o: Any) -> Any:
    """JSON-ready copy: NaN / inf (an undefined estimate, e.g. SNIPS with no support) ->
    null, numpy scalars -> Python."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _head(n: int, cfg: EvalConfig) -> np.ndarray:
    return np.arange(n if cfg.max_requests is None else min(n, cfg.max_requests))


def _baseline(cfg: EvalConfig, texts: list[str], models: list[str]) -> RouterCandidate | None:
    """The running router (``baseline_router``) on the same texts; same models required."""
    if not cfg.baseline_router:
        return None
    base = RouterCandidate(load_router(cfg.baseline_router, "baseline_router"), texts)
    if base.models != models:
        raise EvalInputError(
            f"baseline_router: models {base.models} differ from the candidate's {models}"
        )
    return base


def _run_full(
    cfg: EvalConfig, router: Any, df: pd.DataFrame, models: list[str]
) -> tuple[dict[str, Any], GateResult | None]:
    full, n_drop = drop_incomplete(FullInfo.from_frame(df, models=models))
    if n_drop:
        log.warning("dropped %d of %d requests with a missing outcome", n_drop, n_drop + len(full))
    full = full.subset(_head(len(full), cfg))
    cand = RouterCandidate(router, list(full.queries))
    X = cand.embed()
    cands: dict[str, Candidate] = {ROUTER: cand}
    cands |= _train_baselines(cfg, models, router, X, full.tasks)
    if "oracle" in cfg.baselines.names:
        cands["oracle"] = PolicyCandidate(make_policy("oracle").fit(X, full), X, full.tasks)
    base = _baseline(cfg, list(full.queries), models)
    if base is not None:
        cands["baseline_router"] = base
    s = settings(cfg, w_cost_grid(full, cfg.curve.n_points, cfg.curve.w_min, cfg.curve.w_max))
    curve_names = [ROUTER, *[n for n in CURVE_BASELINES if n in cands]]
    metrics = evaluate(full, decide(cands, curve_names, s, len(full)), s)
    metrics["n_dropped"] = n_drop
    metrics["router"]["curve_linear_agreement"] = cand.linear_agreement
    n_lat = min(cfg.latency_samples, len(full))
    if n_lat:
        metrics["router"]["decision_us"] = decision_latency_us(
            router, list(full.queries[:n_lat]), s.weights
        )
    gate_res = None
    if base is not None:
        u = [realised(full, c.choose(s.weights), s.weights).utility for c in (cand, base)]
        gate_res = gate(
            u[0], u[1], Bootstrap(len(full), s.n_boot, s.seed, s.alpha), cfg.gate_margin
        )
    return metrics, gate_res


def _run_bandit(
    cfg: EvalConfig, router: Any, df: pd.DataFrame, models: list[str]
) -> tuple[dict[str, Any], GateResult | None]:
    blog = BanditLog.from_frame(df, models=models)
    cand = RouterCandidate(router, list(blog.queries))
    X = cand.embed()
    cands: dict[str, Candidate] = {ROUTER: cand}
    cands |= _train_baselines(cfg, models, router, X, blog.tasks)
    s = settings(cfg, (0.0,))
    metrics = evaluate_bandit(blog, X, cands, s, cfg.ope.tiny_propensity, cfg.ope.n_folds)
    metrics.pop("log_kind", None)
    metrics.pop("models", None)
    if not cfg.baseline_router:
        return metrics, None
    base = _baseline(cfg, list(blog.queries), models)
    assert base is not None
    rounds, idx = prepare_rounds(blog, X, s, cfg.ope.n_folds)
    dr = [
        round_values(BanditData(**rounds, target_probs=c.probs(s.weights)[idx], models=models))[
            "dr"
        ]
        for c in (cand, base)
    ]
    return metrics, gate(
        dr[0], dr[1], Bootstrap(len(idx), s.n_boot, s.seed, s.alpha), cfg.gate_margin
    )
