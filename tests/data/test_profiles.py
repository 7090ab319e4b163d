"""Serving profiles: every model covered, reproducible from the shared files, prices
confirmed by RouterBench's own costs, clear KeyError for unknown models."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.model_catalog import EDGE_MODEL
from data.profile_derive import derive_profiles
from data.profiles import DEFAULT_PROFILES, Profiles, ServingProfile, dump_profiles, load_profiles
from data.tokens import count_tokens


def _shared_models(shared: Path) -> set[str]:
    rb = pd.read_csv(shared / "routerbench" / "mbpp_train.csv", nrows=1)
    models = {c[: -len("|total_cost")] for c in rb.columns if c.endswith("|total_cost")}
    rl = pd.read_csv(shared / "routellm" / "gsm8k" / "gsm8k_responses.csv", nrows=1)
    models |= {c for c in rl.columns if c != "prompt" and not c.endswith("_response")}
    items = json.loads((shared / "llmrouter" / "dcrouter_train.json").read_text())
    return models | {m for it in items for m in it["scores"]}


def test_every_shared_model_has_a_profile(shared_data: Path, profiles: Profiles) -> None:
    models = _shared_models(shared_data)
    assert len(models) == 11 + 1 + 9  # gpt-4-1106-preview is in RouterBench and RouteLLM
    assert models | {EDGE_MODEL} == set(profiles)
    for name, p in profiles.items():
        assert p.ttft_ms > 0 and p.tpot_ms > 0 and p.j_per_token > 0, name
        assert p.assumption and p.profile_source, name
    for hosted in ("gpt-4-1106-preview", "claude-v2", "gpt-3.5-turbo-1106"):
        assert profiles[hosted].assumption.startswith("ASSUMPTION")


def test_committed_table_is_reproducible(
    shared_data: Path, tmp_path: Path, profiles: Profiles
) -> None:
    derived = derive_profiles(shared_data)
    again = load_profiles(dump_profiles(derived, tmp_path / "p.yaml"))
    assert again == profiles, "conf/profiles/default.yaml is stale: run lmroute data profiles"


def test_energy_follows_the_measurements(profiles: Profiles) -> None:
    assert (
        profiles["llama3-chatqa-1.5-70b"].j_per_token
        > profiles["llama-3.1-8b-instruct"].j_per_token
    )
    assert profiles["gpt-4-1106-preview"].j_per_token > profiles["gpt-3.5-turbo-1106"].j_per_token


@pytest.mark.parametrize(
    "model", ["gpt-4-1106-preview", "claude-instant-v1", "mistralai/mixtral-8x7b-chat"]
)
def test_prices_match_routerbench_costs(model: str, shared_data: Path, profiles: Profiles) -> None:
    raw = pd.read_csv(shared_data / "routerbench" / "winograde_train.csv").head(300)
    prompt = count_tokens(["\n".join(ast.literal_eval(p)) for p in raw["prompt"]])
    answer = count_tokens(["\n".join(ast.literal_eval(r)) for r in raw[f"{model}|model_response"]])
    mine = profiles[model].cost_usd(prompt, answer)
    ratio = np.median(raw[f"{model}|total_cost"].to_numpy() / mine)
    assert 0.85 < ratio < 1.25  # WordPiece counts approximate the providers' tokenizers


def test_unknown_model_lists_known(profiles: Profiles) -> None:
    with pytest.raises(KeyError, match=r"known models: .*claude-v1"):
        profiles["gpt-5"]


def test_profile_arithmetic() -> None:
    p = ServingProfile(100.0, 10.0, 0.5, 1.0, 3.0, "test", "none")
    np.testing.assert_allclose(p.latency_ms(np.array([0, 10])), [100.0, 200.0])
    np.testing.assert_allclose(p.energy_j(np.array([4])), [2.0])
    np.testing.assert_allclose(p.cost_usd(np.array([1e6]), np.array([1e6])), [4.0])
    assert dataclasses.is_dataclass(p) and p.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_default_path_exists() -> None:
    assert DEFAULT_PROFILES.is_file()
