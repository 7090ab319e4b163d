"""The ``lmroute data`` CLI end to end on small inputs (no traceback on bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data.bench import main as bench_main
from data.cli import main
from data.io import read_frame
from data.synthetic import SyntheticData
from lmroute_cli import main as lmroute_main

ROUTELLM_CSV = """prompt,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview
What is 2+2?\\nA. 3\\nB. 4\\nAnswer:,False,True
Capital of France?\\nA. Paris\\nB. Rome\\nAnswer:,True,True
Leaked question,True,True
"""


def _routellm_dir(tmp_path: Path) -> Path:
    d = tmp_path / "routellm"
    (d / "mmlu").mkdir(parents=True)
    (d / "mmlu" / "mmlu_toy.csv").write_text(ROUTELLM_CSV)
    (d / "mmlu_contaminated_prompts.jsonl").write_text(
        json.dumps({"eval_prompt": "Leaked question", "train_prompt": "x"}) + "\n"
    )
    return d


def test_convert_routellm_excludes_contaminated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = _routellm_dir(tmp_path), tmp_path / "o.parquet"
    assert main(["convert", "--format", "routellm", "--out", str(out), str(src)]) == 0
    df = read_frame(out)
    assert len(df) == 4 and set(df["task"]) == {"mmlu_toy"}
    assert "skipped 1 (contaminated prompts excluded" in capsys.readouterr().out
    assert (
        main(
            ["convert", "--format", "routellm", "--keep-contaminated", "--out", str(out), str(src)]
        )
        == 0
    )
    assert len(read_frame(out)) == 6


def test_convert_canonical_formats(synth: SyntheticData, tmp_path: Path) -> None:
    synth.frame.to_csv(tmp_path / "a.csv", index=False)
    synth.frame.to_json(
        tmp_path / "a.jsonl",
        orient="records",
        lines=True,
        date_format="iso",
        date_unit="us",
        double_precision=15,
    )
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"{fmt}.parquet"
        src = str(tmp_path / f"a.{fmt}")
        assert main(["convert", "--format", fmt, "--out", str(out), src]) == 0
        back = read_frame(out)
        pd.testing.assert_series_equal(back["cost_usd"], synth.frame["cost_usd"])
        assert back["timestamp"].tolist() == synth.frame["timestamp"].tolist()
    assert (
        main(
            [
                "convert",
                "--format",
                "parquet",
                "--out",
                str(tmp_path / "m.parquet"),
                str(tmp_path / "csv.parquet"),
                str(tmp_path / "jsonl.parquet"),
            ]
        )
        == 2
    )  # dup keys


def test_bad_inputs_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    cases = [
        ["convert", "--format", "routerbench", "--out", "o.parquet", str(tmp_path / "x.csv")],
        ["convert", "--format", "llmrouter", "--out", "o.parquet", str(tmp_path / "nope")],
        ["convert", "--format", "csv", "--out", "o.parquet", str(tmp_path / "x.csv")],
        ["convert", "--format", "nope", "--out", "o.parquet", "x"],
        ["summary", str(tmp_path / "missing.parquet")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip(), argv


def test_synth_summary_and_dispatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.parquet"
    assert lmroute_main(["data", "synth", "--n", "50", "--models", "3", "--out", str(out)]) == 0
    assert main(["summary", str(out)]) == 0
    text = capsys.readouterr().out
    assert "150 rows, 50 requests, 3 models" in text and "synth-2" in text


def test_bench_small(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert bench_main(["--n", "2000", "--workdir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_rows"] == 2000 and report["problems"] == 0
    assert {"convert_s", "validate_s", "total_s", "peak_rss_mb"} <= report.keys()
