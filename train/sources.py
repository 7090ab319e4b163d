"""Dense views of the training logs, their fingerprint, and the validation split.

The sources themselves (RouterBench CSVs, canonical logs, synthetic tuples, gateway logs)
are the classes of ``train/data_sources.py``, chosen by the data group's ``_target_``.
Validation is carved out by request, stratified by task, seeded.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.matrix import BanditLog, FullInfo

log = logging.getLogger(__name__)


@dataclass
class LoadedLogs:
    """The frame, its dense view, and a fingerprint of the training data."""

    frame: pd.DataFrame
    view: FullInfo | BanditLog
    sha256: str
    profiles: str = ""  # the serving-profile YAML named by the source ("" = default)


def frame_sha256(df: pd.DataFrame) -> str:
    """Order-independent hash of the rows (request, model, query, outcomes)."""
    cols = [c for c in ("request_id", "model", "query", "quality", "cost_usd", "latency_ms",
                        "energy_j", "propensity") if c in df]
    h = pd.util.hash_pandas_object(df[cols], index=False).to_numpy()
    return hashlib.sha256(np.sort(h).tobytes()).hexdigest()


def to_view(df: pd.DataFrame, feedback: str, models: list[str] | None = None
            ) -> FullInfo | BanditLog:
    """Dense view: full-information matrices or a bandit log (over ``models``, in that
    order, when given: a bandit log may never have tried some of them)."""
    if feedback == "full":
        return FullInfo.from_frame(df, models=models)
    if feedback == "bandit":
        if df["propensity"].isna().any():
            row = int(np.flatnonzero(df["propensity"].isna().to_numpy())[0])
            raise ValueError(f"propensity: row {row} is null; bandit logs need propensities")
        return BanditLog.from_frame(df, models=models)
    raise ValueError(f"data.feedback: expected 'full' or 'bandit', got {feedback!r}")


def split_indices(tasks: np.ndarray, val_fraction: float,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified-by-task random split -> (train_idx, val_idx), sorted int arrays."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"data.val_fraction: expected in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val = []
    for task in np.unique(tasks):
        idx = rng.permutation(np.flatnonzero(tasks == task))
        val.append(idx[: round(len(idx) * val_fraction)])
    v = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(tasks)), v), v


def subset(view: FullInfo | BanditLog, idx: np.ndarray) -> FullInfo | BanditLog:
    """Rows ``idx`` of either view."""
    if isinstance(view, FullInfo):
        return view.subset(idx)
    return BanditLog(view.request_ids[idx], view.queries[idx], view.tasks[idx],
                     list(view.models), view.action[idx], view.propensity[idx],
                     view.quality[idx], view.cost_usd[idx], view.latency_ms[idx],
                     view.energy_j[idx], view.logging_policy)
