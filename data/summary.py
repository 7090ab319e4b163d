"""Per-dataset summary of a log: rows, requests, models, per-model mean outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from rich.table import Table

from data.matrix import OUTCOMES


@dataclass
class DatasetSummary:
    """Summary of one log.

    Attributes:
        name: dataset label (usually the path).
        rows, requests: counts.
        per_model: one row per model: n, quality, cost_usd, latency_ms, energy_j (means;
            quality over graded rows), sorted by mean quality descending.
        sources: rows per ``source`` value.
    """

    name: str
    rows: int
    requests: int
    per_model: pd.DataFrame
    sources: dict[str, int]

    @property
    def models(self) -> int:
        return len(self.per_model)


def summarize(df: pd.DataFrame, name: str = "") -> DatasetSummary:
    """Summarize a canonical long frame (vectorised groupby).

    Raises:
        ValueError: an outcome column holds something other than numbers (names it).
    """
    for c in OUTCOMES:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"{name or 'log'}: column {c!r}: expected numbers, got "
                             f"{df[c].dtype} (run `lmroute data validate`)")
    per_model = df.groupby("model", sort=True).agg(
        n=("request_id", "size"), **{c: (c, "mean") for c in OUTCOMES}
    )
    per_model = per_model.sort_values("quality", ascending=False)
    sources = {str(k): int(v) for k, v in df["source"].value_counts().items()}
    return DatasetSummary(name, len(df), int(df["request_id"].nunique()), per_model, sources)


def render(summary: DatasetSummary) -> Table:
    """A rich table: one line per model with its mean outcomes."""
    sources = ", ".join(f"{k}={v:,}" for k, v in summary.sources.items())
    title = (
        f"{summary.name}: {summary.rows:,} rows, {summary.requests:,} requests, "
        f"{summary.models} models ({sources})"
    )
    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("model", "left"),
        ("rows", "right"),
        ("quality", "right"),
        ("cost $/1k req", "right"),
        ("latency ms", "right"),
        ("energy J", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for model, r in summary.per_model.iterrows():
        table.add_row(
            str(model),
            f"{int(r['n']):,}",
            f"{r['quality']:.3f}",
            f"{1000 * r['cost_usd']:.4f}",
            f"{r['latency_ms']:,.0f}",
            f"{r['energy_j']:.2f}",
        )
    return table
