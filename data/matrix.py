"""Dense views of logs that policies and estimators consume.

``FullInfo``: every model's outcome per request (benchmark data), as (n, M) matrices.
``BanditLog``: one chosen model per request with its propensity (gateway / simulated).
Both are built from the canonical long table (see ``data.schema``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTCOMES = ("quality", "cost_usd", "latency_ms", "energy_j")


@dataclass
class FullInfo:
    """Full-information outcomes.

    Attributes:
        request_ids: (n,) request ids.
        queries: (n,) query texts.
        tasks: (n,) task tags ("" when absent).
        models: M model names, column order of every matrix.
        quality, cost_usd, latency_ms, energy_j: (n, M) float64; NaN where missing.
    """

    request_ids: np.ndarray
    queries: np.ndarray
    tasks: np.ndarray
    models: list[str]
    quality: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    energy_j: np.ndarray

    def __len__(self) -> int:
        return len(self.request_ids)

    def subset(self, idx: np.ndarray) -> FullInfo:
        """Rows ``idx`` (int indices or boolean mask), same models."""
        return FullInfo(
            self.request_ids[idx], self.queries[idx], self.tasks[idx], list(self.models),
            self.quality[idx], self.cost_usd[idx], self.latency_ms[idx], self.energy_j[idx],
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame, models: list[str] | None = None) -> FullInfo:
        """Pivot a canonical long frame (one row per request x model) into matrices.

        Request order is first appearance; ``models`` fixes the column order
        (default: sorted model names).
        """
        models = sorted(df["model"].unique()) if models is None else list(models)
        first = df.drop_duplicates("request_id")
        rids = first["request_id"].to_numpy()
        pos = pd.Index(rids)
        r = pos.get_indexer(pd.Index(df["request_id"]))
        m = pd.Index(models).get_indexer(pd.Index(df["model"]))
        keep = m >= 0
        mats = {}
        for col in OUTCOMES:
            mat = np.full((len(rids), len(models)), np.nan)
            mat[r[keep], m[keep]] = df[col].to_numpy(dtype=float)[keep]
            mats[col] = mat
        tasks = first["task"].fillna("").astype(str).to_numpy() if "task" in first else \
            np.full(len(rids), "", dtype=object)
        return cls(rids, first["query"].to_numpy(), tasks, models, **mats)


@dataclass
class BanditLog:
    """Partial-feedback log: one action per request.

    Attributes:
        request_ids, queries, tasks: (n,).
        models: M model names (the action space).
        action: (n,) int64 index into ``models`` of the chosen model.
        propensity: (n,) float64 in (0, 1], probability the logger chose ``action``.
        quality, cost_usd, latency_ms, energy_j: (n,) outcomes of the chosen model.
        logging_policy: name of the logging policy.
    """

    request_ids: np.ndarray
    queries: np.ndarray
    tasks: np.ndarray
    models: list[str]
    action: np.ndarray
    propensity: np.ndarray
    quality: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    energy_j: np.ndarray
    logging_policy: str = ""

    def __len__(self) -> int:
        return len(self.request_ids)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, models: list[str] | None = None) -> BanditLog:
        """Build from a canonical long frame with one row per request and propensities."""
        models = sorted(df["model"].unique()) if models is None else list(models)
        action = pd.Index(models).get_indexer(pd.Index(df["model"]))
        if (action < 0).any():
            bad = sorted(set(df["model"][action < 0]))
            raise ValueError(f"model: rows name models outside the action space: {bad}")
        tasks = df["task"].fillna("").astype(str).to_numpy() if "task" in df else \
            np.full(len(df), "", dtype=object)
        pol = df["logging_policy"].dropna() if "logging_policy" in df else pd.Series([], dtype=str)
        return cls(
            df["request_id"].to_numpy(), df["query"].to_numpy(), tasks, models,
            action.astype(np.int64), df["propensity"].to_numpy(dtype=float),
            df["quality"].to_numpy(dtype=float), df["cost_usd"].to_numpy(dtype=float),
            df["latency_ms"].to_numpy(dtype=float), df["energy_j"].to_numpy(dtype=float),
            str(pol.iloc[0]) if len(pol) else "",
        )
