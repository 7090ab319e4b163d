"""Canonical logs in JSON lines (what the gateway writes) -> canonical table.

Read with Arrow's vectorised JSON reader using the schema's column types; a value of the
wrong type fails with Arrow's message (column and row) plus a pointer to
``lmroute data validate``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson

from data.convert.canonical import convert_canonical, read_types
from data.convert.common import ConvertResult
from data.profiles import Profiles


def read(path: Path) -> pa.Table:
    """One JSONL file as an Arrow table (known columns typed, others inferred)."""
    schema = pa.schema([pa.field(n, t) for n, t in read_types().items()])
    opts = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    table = pajson.read_json(
        path, parse_options=opts, read_options=pajson.ReadOptions(block_size=1 << 24)
    )
    absent = [n for n in schema.names if table[n].null_count == len(table)]
    return table.drop_columns([n for n in absent if n not in _present_keys(path)])


def _present_keys(path: Path) -> set[str]:
    """Keys of the first record: a column absent from the file is not 'all null'."""
    import json

    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    return set(json.loads(first)) if first.strip() else set()


def convert(paths: list[Path], profiles: Profiles | None = None) -> ConvertResult:
    """Convert canonical JSONL logs (``profiles`` unused: outcomes are in the file)."""
    return convert_canonical(paths, (".jsonl", ".json"), read)
