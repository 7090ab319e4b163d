"""Per-split figures of the suite, each with paired bootstrap replicates.

Given a split's test requests (``FullInfo``) and every method's predicted quality and
cost (n, M), the choices along a ``w_cost`` sweep are ``policies.base.argmax_utility`` of
the predictions (the router's own rule). From them, for every method:

- ``aiq``: RouterBench's AIQ of the non-decreasing hull, integrated over the cost range of
  the single models on the same requests ([min, max] of their mean costs);
- ``gap_closed``: (AIQ - AIQ of the zero router) / (AIQ of the oracle - AIQ of the zero
  router), the share of the zero-to-oracle gap;
- ``cost_at_95``: ``eval.curves.cost_to_reach`` (the one definition) as a fraction of the
  reference model's cost;
- ``accuracy``: mean true quality when routing for quality alone (w_cost = 0);
- for two-model groups, ``apgr`` / ``cpt50`` / ``cpt80`` of RouteLLM, by thresholding
  the predicted gain q(strong) - q(weak) (ties: random order, i.e. linear interpolation).

Every figure has B replicates over the same resamples of the test requests for every
method, so differences between methods get paired intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.matrix import FullInfo
from eval import curves as cv
from eval.bootstrap import Bootstrap
from router_model.policies.base import Predictions, argmax_utility
from router_model.reward import RewardWeights

ORACLE, ZERO = "oracle", "zero_router"


@dataclass
class Figure:
    """One figure of one method on one split: the point value and (B,) replicates."""

    value: float
    reps: np.ndarray


def sweep_choices(quality: np.ndarray, cost: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """(G, n) chosen model per w_cost of ``grid`` from predicted quality / cost (n, M)."""
    z = np.zeros_like(cost)
    pred = Predictions(quality, cost, z, z)
    return np.stack([argmax_utility(pred, RewardWeights(w_cost=float(w))) for w in grid])


def w_grid(cost: np.ndarray, n_points: int) -> tuple[float, ...]:
    """0 plus log-spaced w_cost from 0.01 / max to 100 / min single-model mean cost."""
    c = cost.mean(axis=0)
    pos = c[c > 0]
    if len(pos) == 0:
        return (0.0,)
    lo, hi = 0.01 / pos.max(), 100.0 / pos.min()
    return (0.0, *np.logspace(np.log10(lo), np.log10(hi), n_points - 1).tolist())


def realised_sweep(full: FullInfo, ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-request realised cost and quality (n, G) of a sweep's choices (G, n)."""
    rows = np.arange(len(full))[None, :]
    return full.cost_usd[rows, ch].T, full.quality[rows, ch].T


def _curve_reps(c: np.ndarray, q: np.ndarray, boot: Bootstrap) -> tuple[np.ndarray, ...]:
    """Point and (B, G) replicate mean cost and quality of per-request outcomes (n, G)."""
    reps = boot.means(np.hstack([c, q]))
    G = c.shape[1]
    return c.mean(0), q.mean(0), reps[:, :G], reps[:, G:]


def curve_figures(full: FullInfo, outcomes: dict[str, tuple[np.ndarray, np.ndarray]],
                  boot: Bootstrap, ref: int, frac: float = 0.95) -> dict[str, dict[str, Figure]]:
    """aiq, gap_closed, cost_at_95 for every method in ``outcomes`` (name -> per-request
    realised cost and quality (n, G) of its operating points) plus zero router and oracle
    (``outcomes`` must hold ``ORACLE``)."""
    single = boot.means(np.hstack([full.cost_usd, full.quality]))  # (B, 2M)
    M = len(full.models)
    sc, sq = full.cost_usd.mean(0), full.quality.mean(0)
    pts: dict[str, tuple[np.ndarray, ...]] = {ZERO: (sc, sq, single[:, :M], single[:, M:])}
    for name, (c, q) in outcomes.items():
        pts[name] = _curve_reps(c, q, boot)
    out: dict[str, dict[str, Figure]] = {}
    for name, (c, q, rc, rq) in pts.items():
        aiq_b = np.array([_aiq(rc[b], rq[b], single[b, :M]) for b in range(len(rc))])
        cost_b = np.array([_cost_frac(rc[b], rq[b], single[b, M + ref], single[b, ref], frac)
                           for b in range(len(rc))])
        out[name] = {"aiq": Figure(_aiq(c, q, sc), aiq_b),
                     "cost_at_95": Figure(_cost_frac(c, q, sq[ref], sc[ref], frac), cost_b)}
    lo, hi = out[ZERO]["aiq"], out[ORACLE]["aiq"]
    for figs in out.values():
        a = figs["aiq"]
        figs["gap_closed"] = Figure((a.value - lo.value) / (hi.value - lo.value),
                                    (a.reps - lo.reps) / (hi.reps - lo.reps))
    return out


def _aiq(cost: np.ndarray, quality: np.ndarray, single_cost: np.ndarray) -> float:
    lo, hi = float(single_cost.min()), float(single_cost.max())
    return cv.aiq(cv.nondecreasing_hull(cost, quality), lo, hi) if hi > lo else float("nan")


def _cost_frac(cost: np.ndarray, quality: np.ndarray, ref_q: float, ref_c: float,
               frac: float) -> float:
    """The one definition; never reaching the target counts as +inf (worse than any)."""
    at = cv.cost_to_reach(cost, quality, ref_q, ref_c, frac)
    return float("inf") if at.fraction is None else at.fraction


def accuracy_figure(full: FullInfo, quality_pred: np.ndarray, boot: Bootstrap) -> Figure:
    """Mean true quality of argmax predicted quality (ties: first model), with replicates."""
    choice = np.argmax(quality_pred, axis=1)
    q = full.quality[np.arange(len(full)), choice]
    return Figure(float(q.mean()), boot.means(q))


def apgr_figures(full: FullInfo, gain: np.ndarray, strong: int,
                 boot: Bootstrap) -> dict[str, Figure]:
    """RouteLLM's APGR, CPT(50%), CPT(80%) of a score (n,) that sends the highest-gain
    requests to the strong model; replicates over the same resamples."""
    weak = 1 - strong
    qs, qw = full.quality[:, strong], full.quality[:, weak]
    order = np.argsort(-gain, kind="stable")
    ends = _tie_ends(gain[order])
    w_all = np.vstack([np.ones(len(full)), boot.resample_counts()])  # row 0 = the sample itself
    vals = np.array([_apgr_row(w[order], qs[order], qw[order], ends) for w in w_all])
    return {k: Figure(float(vals[0, j]), vals[1:, j])
            for j, k in enumerate(("apgr", "cpt50", "cpt80"))}


def _tie_ends(sorted_gain: np.ndarray) -> np.ndarray:
    """Indices (exclusive) where a run of equal scores ends, in descending-score order."""
    brk = np.flatnonzero(np.diff(sorted_gain) != 0) + 1
    return np.append(brk, len(sorted_gain))


def _apgr_row(w: np.ndarray, qs: np.ndarray, qw: np.ndarray,
              ends: np.ndarray) -> tuple[float, float, float]:
    """(APGR, CPT50, CPT80) for one weighting of the requests (counts w (n,))."""
    tot = w.sum()
    base, top = (w * qw).sum() / tot, (w * qs).sum() / tot
    if top == base:
        return float("nan"), float("nan"), float("nan")
    frac = np.concatenate([[0.0], np.cumsum(w)[ends - 1] / tot])
    qual = base + np.concatenate([[0.0], np.cumsum(w * (qs - qw))[ends - 1] / tot])
    args = (frac, qual, float(base), float(top))
    c50, c80 = cv.cpt(*args, pgr=0.5), cv.cpt(*args, pgr=0.8)
    return (cv.apgr(*args), float("nan") if c50 is None else c50,
            float("nan") if c80 is None else c80)
