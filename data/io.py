"""Read and write canonical logs: Parquet (primary), JSONL (gateway logs), CSV.

Parquet files always carry ``data.schema.SCHEMA``; missing optional columns are filled
with nulls. Reading returns either a memory-mapped Hugging Face ``datasets.Dataset``
(logs larger than RAM), a stream of Arrow batches through ``datasets`` (``iter_tables``:
bounded memory, what streamed training reads) or a pandas DataFrame (small logs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from data.schema import COLUMNS, SCHEMA

if TYPE_CHECKING:
    import datasets

log = logging.getLogger(__name__)
PathLike = str | Path
LOG_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv")


class SchemaError(ValueError):
    """A frame cannot be cast to the canonical schema (message names the column)."""


def expand_paths(paths: Iterable[PathLike], suffixes: Sequence[str] = LOG_SUFFIXES) -> list[Path]:
    """Files named in ``paths``; a directory expands to its files (sorted, recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in suffixes)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"input not found: {p}")
    return out


def _fill_optional(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c.name for c in COLUMNS if c.name not in df.columns]
    required = [c for c in missing if not next(x for x in COLUMNS if x.name == c).nullable]
    if required:
        raise SchemaError(f"missing required column(s): {', '.join(required)}")
    extra = [c for c in df.columns if c not in SCHEMA.names]
    if extra:
        log.warning("dropping columns outside the schema: %s", extra)
    df = df.assign(**{c: None for c in missing})
    return df[list(SCHEMA.names)]


def to_table(data: pd.DataFrame | pa.Table) -> pa.Table:
    """Cast a frame or table to ``SCHEMA`` (column order, types, null-filled optionals).

    Raises:
        SchemaError: a required column is missing or a column cannot be cast.
    """
    if isinstance(data, pa.Table):
        data = data.to_pandas()
    df = _fill_optional(data)
    if not pd.api.types.is_datetime64_any_dtype(df["timestamp"]):
        df = df.assign(timestamp=pd.to_datetime(df["timestamp"], utc=True, format="ISO8601"))
    for f in SCHEMA:
        nulls = int(df[f.name].isna().sum()) if not f.nullable else 0
        if nulls:
            raise SchemaError(f"column {f.name!r}: {nulls} null value(s) in a required column")
    try:
        table = pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise SchemaError(f"cannot cast to the canonical schema: {exc}") from exc
    return table.replace_schema_metadata(None)


def write_parquet(data: pd.DataFrame | pa.Table, path: PathLike) -> Path:
    """Write a canonical log to Parquet (zstd); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = data if isinstance(data, pa.Table) and data.schema.equals(SCHEMA) else to_table(data)
    pq.write_table(table, path, compression="zstd")
    return path


def _read_one(path: Path) -> pa.Table:
    if path.suffix in (".jsonl", ".json", ".csv"):  # canonical logs in text form
        from data.convert import convert

        fmt = "csv" if path.suffix == ".csv" else "jsonl"
        return to_table(convert(fmt, [path]).frame)
    return pq.read_table(path)


def read_table(paths: PathLike | Sequence[PathLike]) -> pa.Table:
    """One or many logs as one Arrow table: Parquet files (or directories of them), or
    canonical JSONL / CSV files named explicitly (cast to the schema)."""
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths, (".parquet",))
    if not files:
        raise FileNotFoundError(f"no parquet files in {paths}")
    return pa.concat_tables([_read_one(f) for f in files], promote_options="permissive")


def read_frame(paths: PathLike | Sequence[PathLike]) -> pd.DataFrame:
    """One or many logs (see ``read_table``) as a pandas DataFrame (loads into RAM)."""
    return read_table(paths).to_pandas()


def read_dataset(paths: PathLike | Sequence[PathLike]) -> datasets.Dataset:
    """One or many Parquet logs as a memory-mapped Hugging Face ``datasets.Dataset``.

    The Parquet files are converted once to Arrow files in the datasets cache and then
    memory-mapped, so logs larger than RAM can be iterated and filtered.
    """
    import datasets

    files = expand_paths([paths] if isinstance(paths, str | Path) else paths, (".parquet",))
    return datasets.Dataset.from_parquet([str(f) for f in files])


def iter_tables(paths: PathLike | Sequence[PathLike], batch_rows: int = 65_536,
                columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """Stream one or many Parquet logs through Hugging Face ``datasets`` (``streaming=True``)
    as Arrow tables of at most ``batch_rows`` rows, in file order: memory stays bounded by
    one batch (plus a Parquet row group) whatever the size of the log. ``columns``: read
    only these."""
    import datasets

    files = expand_paths([paths] if isinstance(paths, str | Path) else paths, (".parquet",))
    if not files:
        raise FileNotFoundError(f"no parquet files in {paths}")
    datasets.disable_progress_bars()
    for f in files:  # one file at a time: the order of rows is the files' order
        ds = datasets.load_dataset("parquet", data_files=[str(f)], split="train",
                                   streaming=True, columns=list(columns) if columns else None)
        for table in ds.with_format("arrow").iter(batch_size=batch_rows):
            yield table.replace_schema_metadata(None)


def write_jsonl(data: pd.DataFrame | pa.Table, path: PathLike) -> Path:
    """Write a log as JSON lines (timestamps in ISO 8601, UTC)."""
    df = data.to_pandas() if isinstance(data, pa.Table) else data
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_json(
        path, orient="records", lines=True, date_format="iso", date_unit="us", double_precision=15
    )
    return path


def read_jsonl(path: PathLike) -> pd.DataFrame:
    """Read a JSON-lines log without coercing anything (validation reports bad types).

    Uses Arrow's vectorised reader; falls back to pandas when a column mixes types.
    """
    try:
        return pajson.read_json(path).to_pandas()
    except pa.ArrowInvalid as exc:
        log.info("arrow JSON reader failed (%s); falling back to pandas", exc)
        return pd.read_json(path, lines=True, dtype=False, convert_dates=False)


def read_any(path: PathLike) -> pd.DataFrame:
    """Read a log by extension: .parquet, .jsonl/.json, .csv (values left as stored)."""
    path = Path(path)
    if path.suffix == ".parquet" or path.is_dir():
        return read_frame(path)
    if path.suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    raise ValueError(f"{path}: unknown log format (expected .parquet, .jsonl or .csv)")
