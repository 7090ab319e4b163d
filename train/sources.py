"""Load the training logs named by the data config into dense views, and split them.

Sources: "routerbench" (RouterBench CSVs via ``data.convert``), "logs" (canonical
parquet / jsonl / csv files via ``data.io``), "synthetic" (``data.synthetic``).
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
SOURCES = ("routerbench", "logs", "synthetic")


@dataclass
class LoadedLogs:
    """The frame, its dense view, and a fingerprint of the training data."""

    frame: pd.DataFrame
    view: FullInfo | BanditLog
    sha256: str


def frame_sha256(df: pd.DataFrame) -> str:
    """Order-independent hash of the rows (request, model, query, outcomes)."""
    cols = [c for c in ("request_id", "model", "query", "quality", "cost_usd", "latency_ms",
                        "energy_j", "propensity") if c in df]
    h = pd.util.hash_pandas_object(df[cols], index=False).to_numpy()
    return hashlib.sha256(np.sort(h).tobytes()).hexdigest()


def load_frame(source: str, paths: list[str], synthetic_tuples: int = 0, seed: int = 0,
               profiles: str = "") -> pd.DataFrame:
    """The canonical long frame for a source (see module docstring)."""
    if source == "routerbench":
        from data.convert import convert
        from data.profiles import load_profiles

        if not paths:
            raise ValueError("data.paths: expected the RouterBench CSV directory or files")
        prof = load_profiles(profiles) if profiles else None
        return convert("routerbench", paths, profiles=prof).frame
    if source == "logs":
        from data.io import read_frame

        if not paths:
            raise ValueError("data.paths: expected canonical log files (parquet/jsonl/csv)")
        return read_frame(paths)
    if source == "synthetic":
        from data.synthetic import make_synthetic

        if synthetic_tuples <= 0:
            raise ValueError("data.synthetic_tuples: expected > 0 for source=synthetic")
        return make_synthetic(max(synthetic_tuples // 10, 1), models=10, seed=seed).frame
    raise ValueError(f"data.source: expected one of {SOURCES}, got {source!r}")


def to_view(df: pd.DataFrame, feedback: str) -> FullInfo | BanditLog:
    """Dense view: full-information matrices or a bandit log."""
    if feedback == "full":
        return FullInfo.from_frame(df)
    if feedback == "bandit":
        if df["propensity"].isna().any():
            row = int(np.flatnonzero(df["propensity"].isna().to_numpy())[0])
            raise ValueError(f"propensity: row {row} is null; bandit logs need propensities")
        return BanditLog.from_frame(df)
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
