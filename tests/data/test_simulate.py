"""Simulated bandit logs: exact propensities, sampling frequencies, canonical frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.cli import main
from data.io import read_frame
from data.matrix import BanditLog, FullInfo
from data.simulate import LoggingPolicy, action_probs, simulate_bandit, simulate_frame
from data.synthetic import SyntheticData, make_synthetic
from data.validate import validate_frame


@pytest.fixture(scope="module")
def full() -> FullInfo:
    return FullInfo.from_frame(make_synthetic(50_000, models=4, seed=1).frame)


POLICIES = [
    LoggingPolicy("uniform"),
    LoggingPolicy("epsilon_greedy", epsilon=0.3, around="cheapest"),
    LoggingPolicy("epsilon_greedy", epsilon=0.1, around="synth-2"),
    LoggingPolicy("softmax", temperature=0.05),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_probs_sum_to_one_and_frequencies_match(full: FullInfo, policy: LoggingPolicy) -> None:
    probs = action_probs(full, policy)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    log = simulate_bandit(full, policy, np.random.default_rng(0))
    rows = np.arange(len(full))
    np.testing.assert_array_equal(log.propensity, probs[rows, log.action])
    freq = np.bincount(log.action, minlength=4) / len(full)
    expect = probs.mean(axis=0)
    sigma = np.sqrt(expect * (1 - expect) / len(full))
    assert (np.abs(freq - expect) <= 4 * sigma + 1e-12).all(), (freq, expect)


def test_epsilon_greedy_exact_values(full: FullInfo) -> None:
    p = action_probs(full, LoggingPolicy("epsilon_greedy", epsilon=0.2, around="synth-3"))
    np.testing.assert_allclose(p[:, 3], 1 - 0.2 + 0.2 / 4)
    np.testing.assert_allclose(p[:, :3], 0.2 / 4)


def test_missing_outcomes_get_zero_probability(full: FullInfo) -> None:
    sub = full.subset(np.arange(100))
    sub.quality = sub.quality.copy()
    sub.quality[:50, 1] = np.nan
    p = action_probs(sub, LoggingPolicy("uniform"))
    np.testing.assert_allclose(p[:50], np.tile([1 / 3, 0, 1 / 3, 1 / 3], (50, 1)))
    g = action_probs(sub, LoggingPolicy("epsilon_greedy", epsilon=0.3, around="synth-1"))
    assert (g[:50, 1] == 0).all() and np.allclose(g.sum(axis=1), 1)


def test_softmax_per_request_scores(full: FullInfo) -> None:
    sub = full.subset(np.arange(10))
    scores = np.random.default_rng(0).normal(size=(10, 4))
    p = action_probs(sub, LoggingPolicy("softmax", temperature=0.5, scores=scores))
    e = np.exp(scores / 0.5)
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True))


def test_frame_form_is_canonical_and_roundtrips(synth: SyntheticData) -> None:
    policy = LoggingPolicy("epsilon_greedy", epsilon=0.2, around="best_prior")
    frame, probs = simulate_frame(synth.frame, policy, seed=0)
    assert len(frame) == frame["request_id"].nunique() == 300
    assert (frame["source"] == "simulated").all()
    assert validate_frame(frame).ok
    log = BanditLog.from_frame(frame, models=synth.models)
    np.testing.assert_allclose(log.propensity, probs[np.arange(300), log.action])
    original = synth.frame.set_index(["request_id", "model"])
    picked = original.loc[list(zip(frame["request_id"], frame["model"], strict=True))]
    np.testing.assert_array_equal(picked["quality"].to_numpy(), frame["quality"].to_numpy())


def test_deterministic(synth: SyntheticData) -> None:
    a, _ = simulate_frame(synth.frame, LoggingPolicy("uniform"), seed=5)
    b, _ = simulate_frame(synth.frame, LoggingPolicy("uniform"), seed=5)
    assert a.equals(b)


def test_bad_policy_arguments() -> None:
    with pytest.raises(ValueError, match="--policy"):
        LoggingPolicy("greedy")
    with pytest.raises(ValueError, match="--epsilon"):
        LoggingPolicy("epsilon_greedy", epsilon=1.5)


def test_cli_simulate(
    synth: SyntheticData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "full.parquet", tmp_path / "bandit.parquet"
    synth.frame.to_parquet(src)
    assert (
        main(
            ["simulate", str(src), "--out", str(out), "--policy", "softmax", "--temperature", "0.2"]
        )
        == 0
    )
    assert len(read_frame(out)) == 300
    assert (
        main(
            [
                "simulate",
                str(src),
                "--out",
                str(out),
                "--policy",
                "epsilon_greedy",
                "--around",
                "no-such-model",
            ]
        )
        == 2
    )
    assert "--around" in capsys.readouterr().err


def test_duplicates_are_refused_not_dropped(synth: SyntheticData) -> None:
    doubled = synth.frame.iloc[[0, 0, 1, 2, 3]]
    with pytest.raises(ValueError, match="1 duplicate row"):
        simulate_frame(doubled, LoggingPolicy("uniform"))
