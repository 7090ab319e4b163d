"""Canonical logs in Parquet (possibly with looser types) -> canonical table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data.convert.canonical import convert_canonical
from data.convert.common import ConvertResult
from data.profiles import Profiles


def read(path: Path) -> pa.Table:
    """One Parquet file as an Arrow table."""
    return pq.read_table(path)


def convert(paths: list[Path], profiles: Profiles | None = None) -> ConvertResult:
    """Convert / merge Parquet logs into one canonical table (``profiles`` unused)."""
    return convert_canonical(paths, (".parquet",), read)
