"""Side-by-side evaluation of the router and the baselines on a full-information log.

Produces the metrics.json layout (see ``eval/README_metrics.md``) as plain dicts: the
figures of every policy overall and per task tag, the cost-quality curves with their
hulls and AIQ, the cost at 95% of the best single model's quality, and, for two-model
data, APGR and CPT.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from tqdm import tqdm

from data.matrix import FullInfo
from eval import curves as cv
from eval.aiq_ci import ZERO, aiq_replicates, interval
from eval.bootstrap import Bootstrap
from eval.candidates import Candidate
from eval.replay import curve_means, realised, summarize
from router_model.reward import RewardWeights

log = logging.getLogger(__name__)
ROUTER = "router"


@dataclass(frozen=True)
class EvalSettings:
    """Library-side settings (the Hydra schema in ``eval.cli`` maps onto this)."""

    weights: RewardWeights
    w_cost_grid: tuple[float, ...]
    n_boot: int = 1000
    seed: int = 0
    alpha: float = 0.05
    quality_frac: float = 0.95
    min_slice: int = 20


@dataclass
class Decisions:
    """Choices of every policy: at the configured weights (n,) and along the w_cost grid
    (G, n) for the policies that have a curve."""

    at_weights: dict[str, np.ndarray]
    curves: dict[str, np.ndarray]

    def subset(self, idx: np.ndarray) -> Decisions:
        return Decisions(
            {k: v[idx] for k, v in self.at_weights.items()},
            {k: v[:, idx] for k, v in self.curves.items()},
        )


def decide(
    candidates: Mapping[str, Candidate], curve_names: list[str], s: EvalSettings, n: int
) -> Decisions:
    """Run every candidate at the configured weights and the curve ones along the grid."""
    at = {name: c.choose(s.weights) for name, c in candidates.items()}
    curves = {}
    for name in tqdm(curve_names, desc="cost-quality curves", leave=False):
        grid = [
            candidates[name].choose(replace(s.weights, w_cost=float(wc))) for wc in s.w_cost_grid
        ]
        curves[name] = np.stack(grid)
    M = len(next(iter(candidates.values())).models)
    for m in range(M):
        at[f"fixed:{m}"] = np.full(n, m, dtype=np.int64)
    return Decisions(at, curves)


def evaluate(full: FullInfo, dec: Decisions, s: EvalSettings) -> dict[str, Any]:
    """The whole metrics block: overall figures plus ``slices.<task>``."""
    out = _block(full, dec, s)
    slices = {}
    for task in sorted(set(full.tasks.astype(str)) - {""}):
        idx = np.flatnonzero(full.tasks.astype(str) == task)
        if len(idx) < s.min_slice:
            log.warning("slice %r has %d requests (< %d): skipped", task, len(idx), s.min_slice)
            continue
        slices[task] = _block(full.subset(idx), dec.subset(idx), s)
    out["slices"] = slices
    return out


def _rename_fixed(name: str, models: list[str]) -> str:
    return f"fixed:{models[int(name.split(':')[1])]}" if name.startswith("fixed:") else name


def _block(full: FullInfo, dec: Decisions, s: EvalSettings) -> dict[str, Any]:
    """Figures for one set of requests (all, or one task slice)."""
    boot = Bootstrap(len(full), s.n_boot, s.seed, s.alpha)
    outs = {k: realised(full, v, s.weights) for k, v in dec.at_weights.items()}
    summ = summarize(outs, full.models, boot)
    ref = _reference(full)
    target = s.quality_frac * ref["quality"]
    zero = cv.nondecreasing_hull(ref["single_cost"], ref["single_quality"])
    c_lo, c_hi = min(ref["single_cost"]), max(ref["single_cost"])
    pol: dict[str, dict[str, Any]] = {}
    for name, sm in summ.items():
        pol[_rename_fixed(name, full.models)] = sm.to_dict()
    for name, ch in dec.curves.items():
        pol[name].update(_curve_block(full, ch, s, c_lo, c_hi, target, ref))
    block: dict[str, Any] = {
        "n_requests": len(full),
        "router": pol.pop(ROUTER),
        "baselines": pol,
        "zero_router": {
            "aiq": cv.aiq(zero, c_lo, c_hi) if c_hi > c_lo else None,
            "hull": zero.tolist(),
            "cost_at_95pct_best": _at_quality(ref["single_cost"], ref["single_quality"],
                                              s.quality_frac, ref, None),
        },
        "reference": {k: ref[k] for k in ("model", "quality", "cost_usd")},
        "single_models": {
            m: {"quality": float(q), "cost_usd": float(c)}
            for m, q, c in zip(full.models, ref["single_quality"], ref["single_cost"], strict=True)
        },
    }
    if ROUTER in dec.curves and c_hi > c_lo:
        _aiq_intervals(full, dec, boot, block)
    if len(full.models) == 2:
        block["two_model"] = _two_model(full, dec, s)
    return block


def _aiq_intervals(full: FullInfo, dec: Decisions, boot: Bootstrap, block: dict[str, Any]) -> None:
    """Add ``aiq_ci`` to every curve policy and the zero router, and ``router.aiq_diff``:
    router AIQ minus each baseline's (and the zero router's), paired over resamples."""
    reps = aiq_replicates(full, dec.curves, boot)
    pols = {ROUTER: block["router"], ZERO: block["zero_router"], **block["baselines"]}
    for name in reps:
        pols[name]["aiq_ci"] = interval(reps[name], boot.alpha)
    diffs = {}
    for name in reps:
        if name == ROUTER or pols[name].get("aiq") is None:
            continue
        lo, hi = interval(reps[ROUTER] - reps[name], boot.alpha)
        diffs[name] = {
            "mean": block["router"]["aiq"] - pols[name]["aiq"],
            "ci_low": lo,
            "ci_high": hi,
        }
    block["router"]["aiq_diff"] = diffs


def _reference(full: FullInfo) -> dict[str, Any]:
    """Best single model by mean quality (ties: the cheaper one)."""
    q, c = full.quality.mean(axis=0), full.cost_usd.mean(axis=0)
    best = cv.reference_index(q, c, full.models)
    return {
        "model": full.models[best],
        "quality": float(q[best]),
        "cost_usd": float(c[best]),
        "single_quality": q.tolist(),
        "single_cost": c.tolist(),
    }


def _curve_block(
    full: FullInfo,
    ch: np.ndarray,
    s: EvalSettings,
    c_lo: float,
    c_hi: float,
    target: float,
    ref: dict[str, Any],
) -> dict[str, Any]:
    """Curve points, hull, AIQ and cost at the target quality for one policy."""
    cost, qual = curve_means(full, ch)
    hull = cv.nondecreasing_hull(cost, qual)
    raw = cost[qual >= target]
    return {
        "aiq": cv.aiq(hull, c_lo, c_hi) if c_hi > c_lo else None,
        "curve": [
            {"w_cost": float(w), "cost_usd": float(c), "quality": float(q)}
            for w, c, q in zip(s.w_cost_grid, cost, qual, strict=True)
        ],
        "hull": hull.tolist(),
        "cost_at_95pct_best": _at_quality(
            cost, qual, s.quality_frac, ref, float(raw.min()) if len(raw) else None
        ),
    }


def _at_quality(
    cost: Any, quality: Any, frac: float, ref: dict[str, Any], raw_cost: float | None
) -> dict[str, Any]:
    """``curves.cost_to_reach`` (the one definition) of operating points, as a block."""
    at = cv.cost_to_reach(np.asarray(cost), np.asarray(quality), ref["quality"],
                          ref["cost_usd"], frac)
    return {
        "fraction": at.fraction,
        "cost_usd": at.cost,
        "target_quality": at.target,
        "reference_model": ref["model"],
        "reference_quality": ref["quality"],
        "reference_cost_usd": ref["cost_usd"],
        "raw_curve_fraction": None if raw_cost is None else raw_cost / ref["cost_usd"],
    }


def _two_model(full: FullInfo, dec: Decisions, s: EvalSettings) -> dict[str, Any]:
    """RouteLLM metrics for a strong/weak pair; strong = higher mean quality."""
    q = full.quality.mean(axis=0)
    strong = int(np.argmax(q))
    weak = 1 - strong
    out: dict[str, Any] = {"strong": full.models[strong], "weak": full.models[weak]}
    if q[strong] == q[weak]:
        out["note"] = "strong and weak models have equal quality: APGR undefined"
        return out
    for name, ch in dec.curves.items():
        frac = (ch == strong).mean(axis=1)
        qual = curve_means(full, ch)[1]
        args = (frac, qual, float(q[weak]), float(q[strong]))
        out[name] = {
            "apgr": cv.apgr(*args),
            "cpt_50": cv.cpt(*args, pgr=0.5),
            "cpt_80": cv.cpt(*args, pgr=0.8),
            "curve": [
                {"strong_frac": float(f), "quality": float(v)}
                for f, v in zip(frac, qual, strict=True)
            ],
        }
    return out
