"""Bootstrap intervals for AIQ (one AIQ per resample of the requests).

Every resample recomputes each policy's curve points (mean cost and quality per sweep
weight), its non-decreasing hull, the single models' cost range and the AIQ, so the
router's AIQ and its paired difference to each baseline get percentile intervals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from data.matrix import FullInfo
from eval import curves as cv
from eval.bootstrap import Bootstrap

ZERO = "zero_router"


def aiq_replicates(
    full: FullInfo, curves: Mapping[str, np.ndarray], boot: Bootstrap
) -> dict[str, np.ndarray]:
    """AIQ per resample for every curve policy and the zero router.

    Args:
        full: n requests. curves: name -> (G, n) chosen model per sweep weight.

    Returns:
        name -> (B,) AIQ replicates (NaN where the resampled cost range is empty).
    """
    rows = np.arange(len(full))
    names = list(curves)
    cols = [full.cost_usd, full.quality]  # (n, M) each: the single models
    for name in names:
        ch = curves[name]
        cols += [full.cost_usd[rows, ch].T, full.quality[rows, ch].T]  # (n, G) each
    reps = boot.means(np.hstack(cols))  # (B, 2M + sum 2G)
    M = len(full.models)
    out = {n: np.full(len(reps), np.nan) for n in [ZERO, *names]}
    for b, r in enumerate(reps):
        c_lo, c_hi = r[:M].min(), r[:M].max()
        if not c_hi > c_lo:
            continue
        out[ZERO][b] = cv.aiq(cv.nondecreasing_hull(r[:M], r[M : 2 * M]), c_lo, c_hi)
        pos = 2 * M
        for name in names:
            G = curves[name].shape[0]
            cost, qual = r[pos : pos + G], r[pos + G : pos + 2 * G]
            out[name][b] = cv.aiq(cv.nondecreasing_hull(cost, qual), c_lo, c_hi)
            pos += 2 * G
    return out


def interval(reps: np.ndarray, alpha: float) -> list[float | None]:
    """[low, high] percentile interval of finite replicates ([None, None] if none)."""
    r = reps[np.isfinite(reps)]
    if len(r) == 0:
        return [None, None]
    lo, hi = np.quantile(r, [alpha / 2, 1 - alpha / 2])
    return [float(lo), float(hi)]
