"""The suite's pieces on synthetic inputs: splits, RouteLLM's APGR with ties, the paired
interval over splits, and the cascade's accounting."""

from __future__ import annotations

import numpy as np
import pytest

from data.matrix import FullInfo
from eval.bootstrap import Bootstrap
from eval.suite.aggregate import over_splits, paired_diff
from eval.suite.cascade import cascade_outcomes
from eval.suite.metrics import Figure, apgr_figures
from eval.suite.splits import check_leak_free, make_splits


def _queries(n: int) -> np.ndarray:
    q = np.array([f"prompt {i}" for i in range(n)], dtype=object)
    q[1::7] = q[0::7][: len(q[1::7])]  # duplicates: must stay together
    return q


def test_splits_are_disjoint_stratified_and_leak_free() -> None:
    n = 700
    tasks = np.array(["a"] * 500 + ["b"] * 200)
    queries = _queries(n)
    splits = make_splits(tasks, queries, n_splits=5, seed=3)
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(n))  # each request tested exactly once
    for s in splits:
        check_leak_free(s, queries)
        assert len(set(s.train) & set(s.val)) == 0
        share_b = np.mean(tasks[s.test] == "b")
        assert 0.2 < share_b < 0.37  # stratified: ~2/7 of every test part
    again = make_splits(tasks, queries, n_splits=5, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, again, strict=True))


def test_leak_check_fails_on_a_shared_prompt() -> None:
    from eval.suite.splits import Split

    q = np.array(["same", "same ", "other"], dtype=object)
    with pytest.raises(AssertionError, match="two parts"):
        check_leak_free(Split(0, np.array([0]), np.array([2]), np.array([1])), q)


def _two_model(n: int, seed: int = 0) -> FullInfo:
    rng = np.random.default_rng(seed)
    strong = (rng.random(n) < 0.8).astype(float)
    weak = np.where(strong > 0, (rng.random(n) < 0.7).astype(float), 0.0)
    q = np.stack([strong, weak], 1)
    z = np.zeros((n, 2))
    return FullInfo(np.arange(n).astype(str), np.array(["x"] * n), np.array([""] * n),
                    ["strong", "weak"], q, np.tile([1.0, 0.1], (n, 1)), z, z)


def test_apgr_random_is_half_true_gain_is_high_constant_is_half() -> None:
    full = _two_model(4000)
    boot = Bootstrap(len(full), 50, 0)
    gain = full.quality[:, 0] - full.quality[:, 1]
    rnd = apgr_figures(full, np.random.default_rng(1).random(len(full)), 0, boot)["apgr"]
    best = apgr_figures(full, gain, 0, boot)["apgr"]
    const = apgr_figures(full, np.zeros(len(full)), 0, boot)["apgr"]  # one tie: a line
    assert rnd.value == pytest.approx(0.5, abs=0.05)
    assert const.value == pytest.approx(0.5, abs=1e-9)
    assert best.value > 0.85 and best.reps.min() > rnd.reps.max()


def test_over_splits_interval_and_paired_difference() -> None:
    rng = np.random.default_rng(0)
    a = [Figure(0.8 + 0.01 * k, 0.8 + 0.01 * k + rng.normal(0, 0.01, 500)) for k in range(5)]
    b = [Figure(f.value - 0.02, f.reps - 0.02 + rng.normal(0, 0.001, 500)) for f in a]
    s = over_splits(a)
    assert s.mean == pytest.approx(0.82) and s.ci_low < s.mean < s.ci_high
    d = paired_diff(a, b)
    assert d.mean == pytest.approx(0.02) and d.ci_low > 0.015  # paired: tight
    assert paired_diff(b, a).ci_high < 0  # negative control


def test_cascade_pays_both_calls_only_when_it_escalates() -> None:
    q_pred = np.array([[0.9, 0.5], [0.9, 0.5]])  # model 0 strong/expensive, 1 cheap
    cost_pred = np.array([[1.0, 0.1], [1.0, 0.1]])
    quality = np.array([[1.0, 0.0], [1.0, 1.0]])
    cost = cost_pred.copy()
    p_ok = np.array([[0.9, 0.1], [0.9, 0.95]])  # verifier doubts request 0's cheap answer
    c, q, pts, esc = cascade_outcomes(q_pred, cost_pred, p_ok, quality, cost, (10.0,))
    j = [t for _, t in pts].index(0.5)
    assert esc[:, j].tolist() == [True, False]
    assert c[:, j].tolist() == pytest.approx([1.1, 0.1])
    assert q[:, j].tolist() == [1.0, 1.0]


def test_palette_gives_every_method_of_a_plot_its_own_colour() -> None:
    from eval.suite.plots import FIXED, palette

    names = ["router", "oracle", "task_prior", "best_single", "inferred_task_prior",
             "mlp_minilm", "router_stacked", "router_platt", "router_tail", "router_linear",
             "router_wide", "cascade", "cascade_agree"]
    colors = palette(names)
    assert len(set(colors.values())) == len(names)
    assert colors["router"] == FIXED["router"] and colors["oracle"] == FIXED["oracle"]
    assert palette(list(reversed(names))) == colors  # order of the methods does not matter
