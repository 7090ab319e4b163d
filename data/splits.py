"""Train / validation / test splits by REQUEST (no request_id in two splits).

Random splits are stratified by task: within each task, requests are ordered by a
seeded random key and the first ``test`` fraction goes to test, the next ``val`` fraction
to validation. Time splits order requests by their first timestamp (ties by request_id):
oldest -> train, then val, newest -> test (not stratified). Deterministic under ``seed``
and independent of the input row order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data.io import write_parquet

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


@dataclass
class SplitResult:
    """The three splits of a long log.

    Attributes:
        train, val, test: canonical long frames (rows of the input, input order kept).
        assignment: per-request table (request_id, task, split).
        params: the parameters used (fractions, seed, by_time).
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    assignment: pd.DataFrame
    params: dict[str, object] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows and requests per split."""
        return {
            name: {"rows": len(f), "requests": int(f["request_id"].nunique())}
            for name, f in zip(SPLITS, (self.train, self.val, self.test), strict=True)
        }


def _requests(df: pd.DataFrame) -> pd.DataFrame:
    task = df["task"].fillna("").astype(str) if "task" in df else pd.Series("", index=df.index)
    per = pd.DataFrame(
        {"request_id": df["request_id"].astype(str), "task": task, "timestamp": df["timestamp"]}
    )
    per = per.groupby("request_id", sort=True).agg(
        task=("task", "first"), timestamp=("timestamp", "min")
    )
    return per.reset_index()


def _assign_random(per: pd.DataFrame, val: float, test: float, seed: int) -> np.ndarray:
    key = np.random.default_rng(seed).random(len(per))  # per sorted request_id
    rank = pd.Series(key).groupby(per["task"].to_numpy()).rank(method="first").to_numpy()
    size = per.groupby("task")["task"].transform("size").to_numpy()
    pos = (rank - 1) / size  # in [0, 1) within each task
    return np.where(pos < test, "test", np.where(pos < test + val, "val", "train"))


def _assign_time(per: pd.DataFrame, val: float, test: float) -> np.ndarray:
    if per["timestamp"].nunique() <= 1:
        log.warning("all timestamps are equal: a time split is just request_id order")
    order = np.lexsort((per["request_id"].to_numpy(), per["timestamp"].to_numpy()))
    pos = np.empty(len(per))
    pos[order] = np.arange(len(per)) / max(len(per), 1)
    return np.where(pos >= 1 - test, "test", np.where(pos >= 1 - test - val, "val", "train"))


def split_requests(
    df: pd.DataFrame, val: float = 0.15, test: float = 0.15, seed: int = 0, by_time: bool = False
) -> SplitResult:
    """Split a canonical long frame by request (see module docstring)."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"--val/--test: expected fractions with val + test < 1, got {val}, {test}")
    per = _requests(df)
    per["split"] = _assign_time(per, val, test) if by_time else _assign_random(per, val, test, seed)
    where = pd.Index(per["request_id"]).get_indexer(df["request_id"].astype(str))
    label = per["split"].to_numpy()[where]
    train, val_df, test_df = (df[label == s].reset_index(drop=True) for s in SPLITS)
    params: dict[str, object] = {"val": val, "test": test, "seed": seed, "by_time": by_time}
    return SplitResult(train, val_df, test_df, per[["request_id", "task", "split"]], params)


def write_splits(result: SplitResult, out_dir: str | Path) -> dict[str, Path]:
    """Write train/val/test.parquet and split.json (params and counts) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: write_parquet(frame, out / f"{name}.parquet")
        for name, frame in zip(SPLITS, (result.train, result.val, result.test), strict=True)
    }
    meta = {"params": result.params, "counts": result.counts()}
    (out / "split.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return paths
