"""``lmroute bench guard``: a missing Presidio comparison is null with its reason, never 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router_model.guard import bench


class FakeAnalyzer:
    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, text: str) -> list[object]:
        self.calls += 1
        return []


def _check(text: str) -> None:
    pass


def test_row_without_presidio_is_null_with_reason() -> None:
    why = "presidio-analyzer not installed (presidio_analyzer); pip install presidio-analyzer"
    row = bench.size_row(256, ["a b c"] * 25, _check, None, why, 20)
    assert "presidio_over_guard_p50" in row and row["presidio_over_guard_p50"] is None
    assert row["presidio_missing"] == why
    assert row["presidio"] is None
    assert row["guard"]["n"] == 25
    # the JSON a reader sees: null, not 0
    assert json.loads(json.dumps(row))["presidio_over_guard_p50"] is None


def test_row_with_presidio_has_ratio_and_no_reason() -> None:
    fake = FakeAnalyzer()
    row = bench.size_row(256, ["a b c"] * 30, _check, fake, "how", 20)
    assert fake.calls == 3 + 20  # warmup + the first presidio_reps texts
    assert row["presidio"]["n"] == 20
    assert row["presidio_over_guard_p50"] == pytest.approx(
        row["presidio"]["p50_us"] / row["guard"]["p50_us"])
    assert row["presidio_over_guard_p50"] > 0
    assert "presidio_missing" not in row


def test_ratio_refuses_a_zero_denominator() -> None:
    ratio, why = bench.presidio_ratio({"p50_us": 50.0}, {"p50_us": 0.0}, "unused")
    assert ratio is None and why is not None and "guard 0.0 us" in why
    assert bench.presidio_ratio({"p50_us": 50.0}, {"p50_us": 10.0}, "x") == (5.0, None)


def test_run_without_presidio_says_why(monkeypatch: pytest.MonkeyPatch,
                                       tiny_guard_dir: Path) -> None:
    """The whole command's JSON with --no-presidio: every size has a null ratio and the
    reason; no shared data needed (inputs and answers stubbed)."""
    monkeypatch.setattr(bench, "bench_inputs", lambda size, count, seed=0: ["hello world"] * count)
    monkeypatch.setattr(bench, "real_answers", lambda count: ["an answer, mail a@b.co"] * count)
    args = bench.parse(["--guard", str(tiny_guard_dir), "--reps", "12", "--answers", "2",
                        "--no-presidio"])
    out = bench.run(args)
    assert out["presidio_available"] is False and out["presidio"] == "not run: --no-presidio"
    for row in out["sizes"].values():
        assert row["presidio_over_guard_p50"] is None
        assert row["presidio_missing"] == "not run: --no-presidio"


@pytest.mark.parametrize("flags", [["--reps", "0"], ["--reps", "1"], ["--answers", "0"],
                                   ["--presidio-reps", "-3"]])
def test_bad_counts_exit_2(tiny_guard_dir: Path, flags: list[str],
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--guard", str(tiny_guard_dir), *flags]) == 2
    assert "must be at least" in capsys.readouterr().err
