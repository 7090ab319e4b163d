"""Read the gateway's own logs back as a canonical bandit log (for training/eval).

``read_gateway_log(dir)`` joins the request rows with the latest feedback per
request_id (``quality``) and, by default, keeps only rows usable for off-policy
learning: answered by the model the router chose (no error, not a fallback), with a
propensity. Rows are returned in the canonical schema (``data/schema.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data.io import read_jsonl, to_table


def _read_dir(directory: Path) -> pd.DataFrame | None:
    parquet = sorted(directory.glob("*.parquet"))
    jsonl = sorted(directory.glob("*.jsonl"))
    frames = [pq.read_table(f).to_pandas() for f in parquet]
    frames += [read_jsonl(f) for f in jsonl if f.stat().st_size]
    return pd.concat(frames, ignore_index=True) if frames else None


def read_feedback(log_dir: str | Path) -> pd.DataFrame:
    """Feedback rows (request_id, timestamp, quality, meta); empty frame when none."""
    df = _read_dir(Path(log_dir) / "feedback")
    if df is None:
        return pd.DataFrame(columns=["request_id", "timestamp", "quality", "meta"])
    return df


def read_gateway_log(log_dir: str | Path, *, learnable_only: bool = True,
                     graded_only: bool = False) -> pd.DataFrame:
    """The request log with feedback joined on request_id (latest feedback wins).

    Args:
        log_dir: the gateway's ``log.dir``.
        learnable_only: drop failed requests, fallbacks (logging_policy '.../fallback'),
            explicit-model requests and rows without a propensity.
        graded_only: keep only rows with feedback.

    Returns:
        DataFrame with the canonical columns (n rows).
    """
    df = _read_dir(Path(log_dir) / "requests")
    if df is None:
        raise FileNotFoundError(f"no gateway request logs under {Path(log_dir) / 'requests'}")
    df = to_table(df).to_pandas()
    fb = read_feedback(log_dir)
    if len(fb):
        latest = (fb.sort_values("timestamp").drop_duplicates("request_id", keep="last")
                  .set_index("request_id")["quality"])
        df["quality"] = df["request_id"].map(latest).astype("float64")
    if learnable_only:
        meta = df["meta"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
        ok = (meta.map(lambda m: "error" not in m)
              & df["propensity"].notna()
              & df["logging_policy"].notna()
              & ~df["logging_policy"].fillna("").str.endswith("/fallback")
              & (df["logging_policy"] != "explicit"))
        df = df[ok]
    if graded_only:
        df = df[df["quality"].notna()]
    return df.reset_index(drop=True)
