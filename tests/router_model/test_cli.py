"""`lmroute route` and `lmroute bench router` (fast settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmroute_cli import main as lmroute


def test_route_prints_decision_json(trained, capsys: pytest.CaptureFixture[str]) -> None:
    code = lmroute(["route", "--router", str(trained.out_dir), trained.held_out[0],
                    "--w-cost", "1000", "--allow", ",".join(trained.models[:2])])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"] in trained.models[:2] and d["propensity"] == 1.0
    assert set(d) >= {"model", "index", "propensity", "micros", "reason", "utility", "quality"}


@pytest.mark.parametrize("args,needle", [
    (["", "--w-cost", "1"], "text"),
    (["hi", "--w-cost", "nan"], "w_cost"),
    (["hi", "--w-cost", "-1"], "w_cost"),
    (["hi", "--allow", "nope"], "allowed"),
    (["hi", "--epsilon", "2"], "epsilon"),
])
def test_route_bad_input_exits_2(trained, capsys: pytest.CaptureFixture[str], args: list[str],
                                 needle: str) -> None:
    assert lmroute(["route", "--router", str(trained.out_dir), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_route_missing_artifact_exits_2(tmp_path: Path, capsys) -> None:
    assert lmroute(["route", "--router", str(tmp_path), "hello"]) == 2
    assert "missing" in capsys.readouterr().err


def test_bench_router_static_only(trained, tmp_path: Path, capsys) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(trained.held_out[:30]))
    code = lmroute(["bench", "router", "--router", str(trained.out_dir), "--prompts",
                    str(prompts), "--reps", "20", "--seconds", "0.3", "--no-transformer",
                    "--out", str(tmp_path / "b.json")])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res == json.loads((tmp_path / "b.json").read_text())
    s = res["static"]
    assert 0 < s["p50_us"] <= s["p99_us"] and s["throughput_qps"] > 0
    assert set(s["per_length"]) == {"16", "32", "64", "128", "256", "512"}


@pytest.mark.slow
def test_bench_router_with_transformer(trained, tmp_path: Path, capsys) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(trained.held_out[:30]))
    code = lmroute(["bench", "router", "--router", str(trained.out_dir), "--prompts",
                    str(prompts), "--reps", "30", "--transformer-reps", "5", "--seconds", "0.3"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["speedup_p50"] > 1.0
    assert res["transformer"]["p50_us"] > res["static"]["p50_us"]


@pytest.mark.perf
def test_static_router_p99_under_1ms(trained, tmp_path: Path, capsys) -> None:
    """The latency goal; run explicitly on a quiet machine (`pytest -m perf`)."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(trained.held_out[:50]))
    assert lmroute(["bench", "router", "--router", str(trained.out_dir), "--prompts",
                    str(prompts), "--reps", "300", "--no-transformer"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["static"]["p99_us"] < 1000.0, res["static"]
