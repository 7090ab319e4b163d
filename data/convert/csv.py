"""Canonical logs in CSV -> canonical table (Arrow's multi-threaded CSV reader)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from data.convert.canonical import convert_canonical, read_types
from data.convert.common import ConvertResult
from data.profiles import Profiles


def read(path: Path) -> pa.Table:
    """One CSV file (header row required) as an Arrow table with the schema's types."""
    opts = pacsv.ConvertOptions(
        column_types=read_types(), strings_can_be_null=True, null_values=[""]
    )
    return pacsv.read_csv(
        path, convert_options=opts, read_options=pacsv.ReadOptions(block_size=1 << 24)
    )


def convert(paths: list[Path], profiles: Profiles | None = None) -> ConvertResult:
    """Convert canonical CSV logs (``profiles`` unused)."""
    return convert_canonical(paths, (".csv",), read)
