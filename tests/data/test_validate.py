"""Validation catalogue: each kind of bad file -> its exact problem line, exit 2 via the
CLI, no traceback; quarantine and clean output keep every row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.cli import main
from data.io import read_frame
from data.validate import validate_frame

Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _set(col: str, rows: list[int], value: object) -> Mutation:
    def apply(df: pd.DataFrame) -> pd.DataFrame:
        int_col = pd.api.types.is_integer_dtype(df[col].dtype)
        if not isinstance(value, float | int) or (isinstance(value, float) and int_col):
            df = df.astype({col: object if not isinstance(value, float) else float})
        df.loc[rows, col] = value  # type: ignore[call-overload]
        return df

    return apply


def _dup(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]]], ignore_index=True)


def _simulated(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[[3, 4], "source"] = "simulated"
    return df


CATALOGUE: list[tuple[str, Mutation, str, str]] = [
    (
        "misspelled",
        lambda d: d.rename(columns={"cost_usd": "cost_usdd"}),
        "parquet",
        "ERROR cost_usd [missing_column]: expected a column 'cost_usd' (>= 0) "
        "(found 'cost_usdd': misspelled?)",
    ),
    (
        "wrong_type",
        _set("cost_usd", [3], "abc"),
        "csv",
        "ERROR cost_usd [type]: expected a number; 1 row(s), e.g. row 3",
    ),
    (
        "nan",
        _set("cost_usd", [1, 2], np.nan),
        "parquet",
        "ERROR cost_usd [missing]: expected a finite number (got null/NaN); "
        "2 row(s), e.g. row 1, 2",
    ),
    (
        "inf",
        _set("latency_ms", [4], np.inf),
        "parquet",
        "ERROR latency_ms [not_finite]: expected a finite number (got inf); 1 row(s), e.g. row 4",
    ),
    (
        "neg_cost",
        _set("cost_usd", [0, 5, 6], -1.0),
        "parquet",
        "ERROR cost_usd [negative]: expected >= 0; 3 row(s), e.g. row 0, 5, 6",
    ),
    (
        "neg_latency",
        _set("latency_ms", [7], -3.0),
        "jsonl",
        "ERROR latency_ms [negative]: expected >= 0; 1 row(s), e.g. row 7",
    ),
    (
        "neg_energy",
        _set("energy_j", [8], -0.5),
        "csv",
        "ERROR energy_j [negative]: expected >= 0; 1 row(s), e.g. row 8",
    ),
    (
        "neg_tokens",
        _set("prompt_tokens", [9], -2),
        "parquet",
        "ERROR prompt_tokens [negative]: expected >= 0; 1 row(s), e.g. row 9",
    ),
    (
        "frac_tokens",
        _set("completion_tokens", [2], 1.5),
        "jsonl",
        "ERROR completion_tokens [type]: expected an integer count; 1 row(s), e.g. row 2",
    ),
    (
        "quality",
        _set("quality", [0], 1.5),
        "parquet",
        "ERROR quality [range]: expected in [0, 1] or null; 1 row(s), e.g. row 0",
    ),
    (
        "propensity",
        _set("propensity", [1, 2], 0.0),
        "parquet",
        "ERROR propensity [range]: expected in (0, 1] or null; 2 row(s), e.g. row 1, 2",
    ),
    (
        "propensity_big",
        _set("propensity", [3], 1.2),
        "csv",
        "ERROR propensity [range]: expected in (0, 1] or null; 1 row(s), e.g. row 3",
    ),
    (
        "duplicate",
        _dup,
        "parquet",
        "ERROR request_id,model [duplicate]: expected unique (request_id, model); "
        "first occurrence kept; 1 row(s), e.g. row 40",
    ),
    (
        "empty_query",
        _set("query", [2], "   "),
        "parquet",
        "ERROR query [empty]: expected a non-empty string; 1 row(s), e.g. row 2",
    ),
    (
        "empty_model",
        _set("model", [11], ""),
        "jsonl",
        "ERROR model [empty]: expected a non-empty string; 1 row(s), e.g. row 11",
    ),
    (
        "empty_request_id",
        _set("request_id", [12], ""),
        "parquet",
        "ERROR request_id [empty]: expected a non-empty string; 1 row(s), e.g. row 12",
    ),
    (
        "null_model",
        _set("model", [13], None),
        "parquet",
        "ERROR model [missing]: expected a value (got null); 1 row(s), e.g. row 13",
    ),
    (
        "source",
        _set("source", [1], "bench"),
        "parquet",
        "ERROR source [value]: expected benchmark / gateway / simulated / synthetic; "
        "1 row(s), e.g. row 1",
    ),
    (
        "latency_source",
        _set("latency_source", [2], "measurd"),
        "csv",
        "ERROR latency_source [value]: expected measured / profile; 1 row(s), e.g. row 2",
    ),
    (
        "energy_source",
        _set("energy_source", [3], "guess"),
        "jsonl",
        "ERROR energy_source [value]: expected measured / profile; 1 row(s), e.g. row 3",
    ),
    (
        "meta",
        lambda d: _set("meta", [2], "{bad")(_set("meta", [1], "[1]")(d)),
        "parquet",
        "ERROR meta [json]: expected a JSON object or null; 2 row(s), e.g. row 1, 2",
    ),
    (
        "timestamp",
        _set("timestamp", [5], "yesterday"),
        "csv",
        "ERROR timestamp [unparsable]: expected an ISO 8601 timestamp; 1 row(s), e.g. row 5",
    ),
    (
        "bandit_without_propensity",
        _simulated,
        "parquet",
        "ERROR propensity [missing]: expected a propensity for gateway/simulated rows; "
        "2 row(s), e.g. row 3, 4",
    ),
]


def _write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        df.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(
    ("name", "mutate", "fmt", "line"), CATALOGUE, ids=[c[0] for c in CATALOGUE]
)
def test_bad_file_gives_exact_line(
    name: str,
    mutate: Mutation,
    fmt: str,
    line: str,
    good_frame: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(mutate(good_frame), tmp_path / f"{name}.{fmt}")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert line in err.splitlines(), err
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_good_file_ok(
    fmt: str, good_frame: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(good_frame, tmp_path / f"good.{fmt}")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"OK {path}: 40 rows, 10 requests, 4 models, 0 errors, 0 warning(s)"


def test_unknown_column_is_a_warning(
    good_frame: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(good_frame.assign(qualty=1.0), tmp_path / "extra.parquet")
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert (
        "WARNING qualty [unknown_column]: expected only schema columns "
        "(this one is ignored); did you mean 'quality'?"
    ) in err.splitlines()


def test_quarantine_and_clean_keep_every_row(good_frame: pd.DataFrame, tmp_path: Path) -> None:
    bad = _set("cost_usd", [0, 5], -1.0)(_set("quality", [5, 9], 2.0)(good_frame))
    path = _write(bad, tmp_path / "bad.parquet")
    q, clean = tmp_path / "q.parquet", tmp_path / "clean.parquet"
    assert main(["validate", str(path), "--quarantine", str(q), "--out", str(clean)]) == 2
    rejected, kept = pd.read_parquet(q), read_frame(clean)
    assert len(rejected) + len(kept) == len(bad)
    assert dict(zip(rejected.index, rejected["reason"], strict=True)) == {
        0: "cost_usd:negative",
        1: "quality:range; cost_usd:negative",
        2: "quality:range",
    }
    assert validate_frame(kept).ok


def test_missing_column_quarantines_everything(
    good_frame: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(good_frame.drop(columns=["model"]), tmp_path / "nomodel.parquet")
    q = tmp_path / "q.csv"
    assert main(["validate", str(path), "--quarantine", str(q)]) == 2
    rejected = pd.read_csv(q)
    assert len(rejected) == 40 and set(rejected["reason"]) == {"model:missing_column"}


def test_report_is_typed(good_frame: pd.DataFrame) -> None:
    report = validate_frame(_set("energy_j", list(range(8)), -1.0)(good_frame))
    (problem,) = report.problems
    assert (problem.column, problem.rule, problem.count) == ("energy_j", "negative", 8)
    assert problem.rows == (0, 1, 2, 3, 4)  # at most five examples


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert main(["validate", str(tmp_path / "absent.parquet")]) == 2
