"""Parquet / JSONL / datasets I/O of canonical logs."""

from __future__ import annotations

from pathlib import Path

import datasets
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data.io import (
    SchemaError,
    read_dataset,
    read_frame,
    read_jsonl,
    to_table,
    write_jsonl,
    write_parquet,
)
from data.schema import SCHEMA


def test_parquet_has_schema_and_fills_optionals(good_frame: pd.DataFrame, tmp_path: Path) -> None:
    slim = good_frame.drop(columns=["task", "meta", "propensity", "logging_policy"])
    path = write_parquet(slim, tmp_path / "a.parquet")
    assert pq.read_schema(path).equals(SCHEMA)
    back = read_frame(path)
    assert back["meta"].isna().all() and len(back) == 40


def test_missing_required_column(good_frame: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="missing required column\\(s\\): model"):
        to_table(good_frame.drop(columns=["model"]))
    bad = good_frame.astype({"model": object})
    bad.loc[3, "model"] = None
    with pytest.raises(SchemaError, match="'model': 1 null value"):
        to_table(bad)


def test_many_files_as_memory_mapped_dataset(
    good_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    write_parquet(good_frame.iloc[:25], tmp_path / "logs" / "a.parquet")
    write_parquet(good_frame.iloc[25:], tmp_path / "logs" / "b.parquet")
    ds = read_dataset(tmp_path / "logs")
    assert isinstance(ds, datasets.Dataset) and ds.num_rows == 40
    assert all(f.get("filename") for f in ds.cache_files)  # backed by files: memory-mapped
    assert len(read_frame(tmp_path / "logs")) == 40


def test_jsonl_roundtrip(good_frame: pd.DataFrame, tmp_path: Path) -> None:
    path = write_jsonl(good_frame, tmp_path / "a.jsonl")
    back = read_jsonl(path)
    assert len(back) == 40
    table = to_table(back)
    assert table.column("cost_usd").to_pylist() == pytest.approx(good_frame["cost_usd"].tolist())
    assert table.column("timestamp").to_pylist() == good_frame["timestamp"].tolist()


def test_read_frame_mixes_parquet_and_jsonl(good_frame: pd.DataFrame, tmp_path: Path) -> None:
    write_parquet(good_frame.iloc[:25], tmp_path / "a.parquet")
    write_jsonl(good_frame.iloc[25:], tmp_path / "b.jsonl")
    both = read_frame([tmp_path / "a.parquet", tmp_path / "b.jsonl"])
    assert len(both) == 40
    assert both["timestamp"].tolist() == good_frame["timestamp"].tolist()
