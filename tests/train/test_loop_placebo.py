"""The loop's negative control (train/loop.py ``placebo_rewards``): every outcome of a row
moves to another row together; the request, its features and the chosen model stay."""

from __future__ import annotations

import numpy as np
import pandas as pd

from train.loop import PLACEBO_COLUMNS, placebo_rewards


def test_placebo_moves_all_outcomes_of_a_row_together_and_keeps_the_decision() -> None:
    n = 50
    df = pd.DataFrame({"request_id": [f"r{i}" for i in range(n)],
                       "model": [f"m{i % 4}" for i in range(n)],
                       "quality": np.arange(n) / n, "cost_usd": np.arange(n) * 1e-3,
                       "latency_ms": np.arange(n) * 10.0, "energy_j": np.arange(n) * 2.0,
                       "prompt_tokens": np.arange(n), "completion_tokens": np.arange(n) + 100})
    out = placebo_rewards(df, seed=0)
    assert out[["request_id", "model"]].equals(df[["request_id", "model"]])
    src = (out["prompt_tokens"]).to_numpy()  # which row each outcome came from
    assert sorted(src) == list(range(n)) and (src != np.arange(n)).mean() > 0.9
    for c in PLACEBO_COLUMNS:  # every column moved with the same permutation
        assert np.array_equal(out[c].to_numpy(), df[c].to_numpy()[src])
        assert out[c].dtype == df[c].dtype
    # the cost of a model is no longer its own: the per-model mean cost is scrambled
    by_model = out.groupby("model")["cost_usd"].mean() - df.groupby("model")["cost_usd"].mean()
    assert np.abs(by_model).max() > 0
