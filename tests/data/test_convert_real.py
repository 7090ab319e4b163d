"""The converters reproduce the shared real datasets row for row.

Expected counts are computed here independently from the raw files (pandas / json),
not from the converters' code paths.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.convert import ConvertResult
from data.profiles import Profiles
from data.validate import validate_frame

pytestmark = pytest.mark.integration
ROUTERBENCH_FILES = ("arc_challenge_train.csv", "winograde_train.csv", "mbpp_train.csv")


def _routerbench_expected(path: Path) -> tuple[int, int, int]:
    raw = pd.read_csv(path)
    models = [c[: -len("|total_cost")] for c in raw.columns if c.endswith("|total_cost")]
    empty = int(raw[models].isna().sum().sum())
    return len(raw), len(models), empty


def test_routerbench_rows_per_file(routerbench: ConvertResult, shared_data: Path) -> None:
    total_empty = 0
    for name in ROUTERBENCH_FILES:
        n_req, n_models, empty = _routerbench_expected(shared_data / "routerbench" / name)
        assert n_models == 11
        assert routerbench.rows_per_file[f"routerbench/{name}"] == n_req * n_models - empty
        total_empty += empty
    assert total_empty == 92  # the README's "a few empty cells", all in arc_challenge
    assert sum(routerbench.skipped.values()) == total_empty
    assert len(routerbench.frame) == sum(routerbench.rows_per_file.values()) == 24383


def test_routerbench_values(
    routerbench: ConvertResult, shared_data: Path, profiles: Profiles
) -> None:
    df = routerbench.frame
    assert df["request_id"].nunique() == 1039 + 887 + 299
    assert not df.duplicated(["request_id", "model"]).any()
    assert set(df["quality"].unique()) <= {0.0, 1.0}
    assert set(df["task"]) == {"arc-challenge", "winogrande", "mbpp"}
    raw = pd.read_csv(shared_data / "routerbench" / "mbpp_train.csv")
    row = raw.iloc[0]
    mine = df[df["request_id"] == f"routerbench/mbpp/{row['sample_id']}"].set_index("model")
    assert mine.loc["claude-v2", "cost_usd"] == pytest.approx(row["claude-v2|total_cost"])
    assert mine.loc["claude-v2", "quality"] == row["claude-v2"]
    assert mine.loc["claude-v2", "query"] == "\n".join(ast.literal_eval(row["prompt"]))
    p = profiles["claude-v2"]
    tokens = mine["completion_tokens"].to_numpy(dtype=float)[list(mine.index).index("claude-v2")]
    expect = p.ttft_ms + p.tpot_ms * tokens
    assert mine.loc["claude-v2", "latency_ms"] == pytest.approx(expect)
    assert (df["latency_source"] == "profile").all() and (df["source"] == "benchmark").all()
    assert df["propensity"].isna().all()
    assert validate_frame(df).ok


def test_routerbench_duplicate_sample_ids_stay_distinct(routerbench: ConvertResult) -> None:
    arc = routerbench.frame[routerbench.frame["task"] == "arc-challenge"]
    suffixed = arc.loc[arc["request_id"].str.contains("#"), "request_id"].unique()
    assert len(suffixed) == 14  # 7 sample_ids occurring twice with different prompts


def _routellm_expected(shared: Path) -> dict[str, int]:
    out = {}
    for bench, files in (
        ("mmlu", sorted((shared / "routellm" / "mmlu").glob("*.csv"))),
        ("gsm8k", [shared / "routellm" / "gsm8k" / "gsm8k_responses.csv"]),
    ):
        lines = (shared / "routellm" / f"{bench}_contaminated_prompts.jsonl").read_text()
        bad = {json.loads(line)["eval_prompt"] for line in lines.splitlines() if line.strip()}
        for f in files:
            raw = pd.read_csv(f)
            out[f"{f.parent.name}/{f.name}"] = int((~raw["prompt"].isin(bad)).sum()) * 2
    return out


def test_routellm_rows_per_file(routellm: ConvertResult, shared_data: Path) -> None:
    expected = _routellm_expected(shared_data)
    assert len(expected) == 43  # 42 MMLU subjects + GSM8K
    assert routellm.rows_per_file == expected
    assert sum(routellm.skipped.values()) == 16  # 4 MMLU + 12 GSM8K contaminated prompts
    assert len(routellm.frame) == sum(expected.values())


def test_routellm_cost_from_prices(routellm: ConvertResult, profiles: Profiles) -> None:
    df = routellm.frame
    p = profiles["gpt-4-1106-preview"]
    gpt4 = df[df["model"] == "gpt-4-1106-preview"]
    expect = (
        gpt4["prompt_tokens"] * p.price_in_per_mtok
        + gpt4["completion_tokens"] * p.price_out_per_mtok
    ) / 1e6
    np.testing.assert_allclose(gpt4["cost_usd"], expect)
    mmlu = df[df["task"].str.startswith("mmlu_")]
    assert (mmlu["completion_tokens"] == 1).all()
    gsm = df[df["task"] == "gsm8k"]
    assert gsm["completion_tokens"].median() > 20  # counted from the response text
    assert validate_frame(df).ok


def test_llmrouter_rows(llmrouter: ConvertResult, shared_data: Path) -> None:
    items = json.loads((shared_data / "llmrouter" / "dcrouter_train.json").read_text())
    expected = sum(sum(v is not None for v in it["scores"].values()) for it in items)
    assert llmrouter.rows_per_file == {"llmrouter/dcrouter_train.json": expected}
    df = llmrouter.frame
    assert df["request_id"].nunique() == len(items)
    assert set(df["task"]) == {str(it["cluster_id"]) for it in items}
    cands = json.loads((shared_data / "llmrouter" / "llm_candidates.json").read_text())
    row = df[df["model"] == "gemma-2-9b-it"].iloc[0]
    price = cands["gemma-2-9b-it"]
    expect = (
        row["prompt_tokens"] * price["input_price"]
        + row["completion_tokens"] * price["output_price"]
    ) / 1e6
    assert row["cost_usd"] == pytest.approx(expect)
    assert validate_frame(df).ok


def test_simulate_on_routerbench_respects_empty_cells(routerbench: ConvertResult) -> None:
    from data.matrix import FullInfo
    from data.simulate import LoggingPolicy, action_probs

    full = FullInfo.from_frame(routerbench.frame)
    missing = np.isnan(full.quality)
    assert missing.sum() == 92
    for policy in (
        LoggingPolicy("uniform"),
        LoggingPolicy("softmax", temperature=0.05),
        LoggingPolicy("epsilon_greedy", epsilon=0.2, around="gpt-3.5-turbo-1106"),
    ):
        p = action_probs(full, policy)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p[missing] == 0).all()
