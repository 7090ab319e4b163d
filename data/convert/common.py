"""Shared pieces of the converters: the result type and benchmark-row finishing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data.io import expand_paths
from data.profiles import Profiles, apply_profiles
from data.schema import SCHEMA

log = logging.getLogger(__name__)


@dataclass
class ConvertResult:
    """Output of a converter.

    Attributes:
        frame: canonical long table (columns of ``SCHEMA``), one row per (request, model).
        rows_per_file: rows produced per input file name.
        skipped: what was left out and why, e.g. ``{"empty correctness cell": 92}``.
        notes: human-readable assumptions / remarks for the summary.
    """

    frame: pd.DataFrame
    rows_per_file: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """One line per file, per skip reason and per note."""
        lines = [f"{name}: {n} rows" for name, n in self.rows_per_file.items()]
        lines += [f"skipped {n} ({why})" for why, n in self.skipped.items()]
        return lines + [f"note: {n}" for n in self.notes]


def files_matching(inputs: Sequence[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Expand directories and keep files with one of ``suffixes``."""
    files = expand_paths(inputs, suffixes)
    if not files:
        raise FileNotFoundError(f"no {'/'.join(suffixes)} files in {[str(p) for p in inputs]}")
    return files


def json_meta(dataset: str, file: str, rows: np.ndarray) -> pd.Series:
    """(n,) meta JSON text ``{"dataset": ..., "file": ..., "row": i}``, built vectorised."""
    prefix = f'{{"dataset": "{dataset}", "file": "{file}", "row": '
    return prefix + pd.Series(rows).astype(str) + "}"


def finish_benchmark(df: pd.DataFrame, profiles: Profiles, timestamp: str) -> pd.DataFrame:
    """Complete benchmark rows: profile latency/energy, price-based cost when absent,
    constant timestamp (the dataset's release date; NOT a request time), source tags.

    Args:
        df: columns request_id, query, task, model, quality, prompt_tokens,
            completion_tokens, meta, and optionally cost_usd.
    """
    if "cost_usd" not in df:
        price = pd.DataFrame(
            {
                m: (profiles[m].price_in_per_mtok, profiles[m].price_out_per_mtok)
                for m in df["model"].unique()
            },
            index=["in", "out"],
        ).T.reindex(df["model"])
        cost = (
            df["prompt_tokens"].to_numpy() * price["in"].to_numpy()
            + df["completion_tokens"].to_numpy() * price["out"].to_numpy()
        ) / 1e6
        df = df.assign(cost_usd=cost)
    df = apply_profiles(df, profiles).assign(
        timestamp=pd.Timestamp(timestamp, tz="UTC"),
        propensity=np.nan,
        logging_policy=None,
        source="benchmark",
    )
    df["propensity"] = df["propensity"].astype(float)
    return df[list(SCHEMA.names)].reset_index(drop=True)


def profiles_or_default(profiles: Profiles | None) -> Profiles:
    """The given profiles, or ``conf/profiles/default.yaml``."""
    if profiles is not None:
        return profiles
    from data.profiles import DEFAULT_PROFILES, load_profiles

    log.info("using serving profiles %s", DEFAULT_PROFILES)
    return load_profiles(DEFAULT_PROFILES)


def file_label(path: Path) -> str:
    """Short label of an input file for summaries: ``parent/name``."""
    return f"{path.parent.name}/{path.name}"
