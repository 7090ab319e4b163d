"""`lmroute bench gateway --replicas`: argument parsing, the round-robin load spec and the
summary's paired shared-vs-local figures (the run itself needs servers: docs/scale.md)."""

from __future__ import annotations

import argparse

import pytest

from serve.bench.load import LoadSpec, _Run
from serve.bench.replicas import parse_replicas, parse_shared, replica_summary, system_name


def test_parse_replicas_and_shared() -> None:
    assert parse_replicas("1,2") == (1, 2)
    assert parse_shared("on,off") == ("shared", "local") and parse_shared("off") == ("local",)
    for bad in ("0", "1,1", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="--replicas"):
            parse_replicas(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="--shared"):
        parse_shared("maybe")


def test_round_robin_over_replicas() -> None:
    run = _Run(LoadSpec("u0", {}, 1, 4, urls=("a", "b")))
    assert [run.take() for _ in range(5)] == ["b", "a", "b", "a", None]
    single = _Run(LoadSpec("u0", {}, 1, 2))
    assert [single.take() for _ in range(3)] == ["u0", "u0", None]


def test_summary_pairs_shared_and_local_by_round() -> None:
    def sysd(rps: float, per: list[float]) -> dict:
        return {"throughput_rps": rps, "added_p50_ms": sum(per) / len(per), "n_errors": 0,
                "added_p50_ms_per_round": per}

    lvl = {"concurrency": 1, "systems": {
        "direct": {}, system_name(1, "local"): sysd(400.0, [1.0, 1.2, 1.1]),
        system_name(1, "shared"): sysd(300.0, [1.5, 1.6, 2.1])}}
    out = replica_summary([lvl], (1,), ("local", "shared"))["1"]
    assert out["x1_shared_vs_local"]["throughput_ratio"] == 0.75
    assert out["x1_shared_vs_local"]["added_p50_ms_diff_per_round"] == [0.5, 0.4, 1.0]
    assert out["x1_shared_vs_local"]["added_p50_ms_diff_median_per_round"] == 0.5
