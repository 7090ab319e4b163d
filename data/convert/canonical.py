"""Helpers for canonical logs stored as JSONL / CSV / Parquet (gateway logs, exports)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from data.convert.common import ConvertResult, file_label, files_matching
from data.io import SchemaError, to_table
from data.schema import SCHEMA

log = logging.getLogger(__name__)


def read_types() -> dict[str, pa.DataType]:
    """Column types to read text formats with; timestamps are read as text and parsed
    with ``pandas.to_datetime(format="ISO8601", utc=True)``."""
    return {f.name: (pa.string() if f.name == "timestamp" else f.type) for f in SCHEMA}


def finish_table(table: pa.Table, path: Path) -> pd.DataFrame:
    """Warn about and drop extra columns, then cast to the canonical schema."""
    extra = [c for c in table.column_names if c not in SCHEMA.names]
    if extra:
        log.warning("%s: ignoring columns outside the schema: %s", path, extra)
    try:
        return to_table(table.drop_columns(extra)).to_pandas()
    except (SchemaError, ValueError) as exc:
        raise SchemaError(
            f"{path}: {exc}; run `lmroute data validate {path}` for a per-row report"
        ) from exc


def convert_canonical(
    paths: list[Path], suffixes: tuple[str, ...], reader: Callable[[Path], pa.Table]
) -> ConvertResult:
    """Read each file with ``reader``, cast to ``SCHEMA`` and concatenate."""
    frames, counts = [], {}
    for path in files_matching(paths, suffixes):
        try:
            table = reader(path)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SchemaError(
                f"{path}: {exc}; run `lmroute data validate {path}` for a per-row report"
            ) from exc
        frame = finish_table(table, path)
        frames.append(frame)
        counts[file_label(path)] = len(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return ConvertResult(frame, counts)
