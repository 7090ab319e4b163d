"""Splits: no request in two splits, stratified by task, deterministic, time-ordered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.cli import main
from data.io import read_frame
from data.splits import split_requests
from data.synthetic import SyntheticData


def _ids(df: pd.DataFrame) -> set[str]:
    return set(df["request_id"])


def test_no_leak_and_complete(synth: SyntheticData) -> None:
    r = split_requests(synth.frame, val=0.2, test=0.2, seed=3)
    tr, va, te = _ids(r.train), _ids(r.val), _ids(r.test)
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert len(r.train) + len(r.val) + len(r.test) == len(synth.frame)
    assert tr | va | te == _ids(synth.frame)


def test_stratified_by_task(synth: SyntheticData) -> None:
    r = split_requests(synth.frame, val=0.15, test=0.15, seed=0)
    share = r.assignment.groupby("task")["split"].value_counts(normalize=True).unstack()
    assert ((share["test"] - 0.15).abs() < 0.03).all()
    assert ((share["train"] - 0.70).abs() < 0.03).all()


def test_deterministic_and_order_independent(synth: SyntheticData) -> None:
    a = split_requests(synth.frame, seed=7)
    b = split_requests(synth.frame.sample(frac=1.0, random_state=0), seed=7)
    c = split_requests(synth.frame, seed=8)
    assert _ids(a.test) == _ids(b.test) and _ids(a.val) == _ids(b.val)
    assert _ids(a.test) != _ids(c.test)


def test_by_time(synth: SyntheticData) -> None:
    r = split_requests(synth.frame, val=0.1, test=0.2, by_time=True)
    assert r.train["timestamp"].max() <= r.val["timestamp"].min()
    assert r.val["timestamp"].max() <= r.test["timestamp"].min()
    assert r.counts()["test"]["requests"] == 60


def test_bad_fractions() -> None:
    with pytest.raises(ValueError, match="val \\+ test < 1"):
        split_requests(pd.DataFrame(), val=0.6, test=0.5)


def test_cli_split(synth: SyntheticData, tmp_path: Path) -> None:
    src = tmp_path / "log.parquet"
    synth.frame.to_parquet(src)
    assert main(["split", str(src), "--out-dir", str(tmp_path / "s"), "--seed", "1"]) == 0
    parts = [read_frame(tmp_path / "s" / f"{n}.parquet") for n in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == len(synth.frame)
    assert (tmp_path / "s" / "split.json").is_file()
    assert (
        main(["split", str(src), "--out-dir", str(tmp_path / "x"), "--val", "0.9", "--test", "0.5"])
        == 2
    )
