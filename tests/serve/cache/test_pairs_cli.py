"""``lmroute cache pairs``: the exact input/output format, and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmroute_cli import main

EXACT = """enabled: true
before: pre-checks
stage:
  _target_: serve.stages.cache.CacheStage
  semantic: false
"""


def write(tmp: Path, rows: list[object]) -> Path:
    p = tmp / "in.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def run(tmp: Path, cfg: str, rows: list[object], *extra: str) -> tuple[int, list[dict]]:
    (tmp / "c.yaml").write_text(cfg)
    out = tmp / "out.jsonl"
    code = main(["cache", "pairs", "--config", str(tmp / "c.yaml"), str(write(tmp, rows)),
                 "--out", str(out), *extra])
    return code, [json.loads(x) for x in out.read_text().splitlines()] if code == 0 else []


def test_output_format_and_exact_tier(tmp_path: Path) -> None:
    conv = [{"role": "user", "content": "book a flight"},
            {"role": "assistant", "content": "done"}, {"role": "user", "content": "cancel it"}]
    other = [{"role": "user", "content": "order a pizza"},
             {"role": "assistant", "content": "done"}, {"role": "user", "content": "cancel it"}]
    code, out = run(tmp_path, EXACT, [
        {"id": "same", "a": "What is 2+2?", "b": "  What is   2+2? "},
        {"id": 7, "a": "What is 2+2?", "b": "What is 2+3?"},
        {"id": "conv", "a": conv, "b": other},
        {"id": "conv-same", "a": conv, "b": conv}])
    assert code == 0
    assert [set(r) for r in out] == [{"id", "hit", "tier", "score", "micros"}] * 4
    by = {r["id"]: r for r in out}
    assert by["same"]["hit"] is True and by["same"]["tier"] == "exact"
    assert by[7]["hit"] is False and by[7]["tier"] is None
    assert by["conv"]["hit"] is False  # "cancel it" after another conversation
    assert by["conv-same"]["hit"] is True
    assert all(isinstance(r["score"], float) and r["micros"] >= 0 for r in out)


@pytest.mark.parametrize("row,msg", [
    ("not json", "in.jsonl:1: not JSON"),
    ({"id": 1, "a": "x"}, "in.jsonl:1: b"),
    ({"id": 1, "a": [{"content": "x"}], "b": "y"}, "in.jsonl:1: a[0]"),
    ({"a": "x", "b": "y"}, "in.jsonl:1: expected an object with id")])
def test_bad_lines_exit_2_naming_line_and_field(tmp_path: Path, row: object, msg: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(tmp_path, EXACT, [row])
    assert code == 2 and msg in capsys.readouterr().err


def test_a_bad_config_field_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(tmp_path, EXACT, [{"id": 1, "a": "x", "b": "y"}], "--set", "k=many")
    assert code == 2 and "k:" in capsys.readouterr().err


def test_semantic_tier_with_router_features(tmp_path: Path, real_routers) -> None:
    cfg = EXACT.replace("semantic: false", f"""semantic: true
  embedder: {{kind: router, router_dir: {real_routers[0]}}}
  decision: {{kind: cosine, threshold: 0.95}}""")
    code, out = run(tmp_path, cfg, [
        {"id": 1, "a": "capital city of France", "b": "France capital city"},
        {"id": 2, "a": "capital city of France", "b": "bake sourdough bread at home"}])
    assert code == 0
    assert out[0]["hit"] and out[0]["tier"] == "semantic" and out[0]["score"] >= 0.95
    assert not out[1]["hit"] and out[1]["score"] < 0.95
