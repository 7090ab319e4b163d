"""Baseline policies on tiny hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from data.matrix import BanditLog, FullInfo
from router_model.policies import make_policy
from router_model.policies.baselines import mean_outcomes
from router_model.reward import RewardWeights

W0 = RewardWeights()


def _log(quality: list[list[float]], cost: list[list[float]], tasks: list[str]) -> FullInfo:
    q = np.array(quality, dtype=float)
    n, M = q.shape
    return FullInfo(
        np.array([f"r{i}" for i in range(n)]),
        np.array([f"q{i}" for i in range(n)]),
        np.array(tasks, dtype=object),
        [f"m{j}" for j in range(M)],
        q,
        np.array(cost, dtype=float),
        np.full((n, M), 10.0),
        np.full((n, M), 1.0),
    )


@pytest.fixture
def tiny() -> tuple[np.ndarray, FullInfo]:
    """4 requests, 2 models; features: two clusters along axes x and y."""
    X = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    log = _log(
        [[1, 0], [1, 0], [0, 1], [np.nan, 1]],
        [[2, 1], [2, 1], [4, 1], [4, 1]],
        ["a", "a", "b", "b"],
    )
    return X, log


def test_mean_outcomes_ignores_nan(tiny: tuple[np.ndarray, FullInfo]) -> None:
    _, log = tiny
    m = mean_outcomes(log)
    assert m[0] == pytest.approx([2 / 3, 0.5])  # (1 + 1 + 0) / 3, NaN skipped
    assert m[1] == pytest.approx([3.0, 1.0])


def test_random_uniform_over_allowed(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("random", seed=1).fit(X, log)
    mask = np.array([[True, True], [False, True], [True, True], [True, False]])
    p = pol.action_probs(X, W0, mask)
    np.testing.assert_allclose(p, np.array([[0.5, 0.5], [0, 1], [0.5, 0.5], [1, 0]]))
    big = np.zeros((4000, 2), dtype=np.float32)
    a = pol.select(big, W0)
    assert set(a.tolist()) == {0, 1} and abs(a.mean() - 0.5) < 0.05
    assert (pol.select(X, W0, mask)[[1, 3]] == [1, 0]).all()


def test_fixed_and_fallback(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("fixed", model="m0").fit(X, log)
    assert pol.select(X, W0).tolist() == [0, 0, 0, 0]
    assert pol.select(X, W0, np.array([False, True])).tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="model"):
        make_policy("fixed", model="nope").fit(X, log)


def test_cheapest(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("cheapest").fit(X, log)
    assert pol.select(X, W0).tolist() == [1, 1, 1, 1]  # mean cost 3 vs 1
    assert pol.select(X, W0, np.array([True, False])).tolist() == [0, 0, 0, 0]


def test_knn_neighbour_means(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("knn", k=2).fit(X, log)
    pred = pol.predict(np.array([[1, 0.05], [0.05, 1]], dtype=np.float32))
    # neighbours of the first: rows 0, 1 -> q = (1, 0); of the second: rows 2, 3 with
    # m0 = (0, NaN) -> 0 and m1 = (1, 1) -> 1; cost (4, 1)
    np.testing.assert_allclose(pred.quality, [[1, 0], [0, 1]])
    np.testing.assert_allclose(pred.cost_usd, [[2, 1], [4, 1]])
    assert pol.select(np.array([[1, 0.05]], dtype=np.float32), W0).tolist() == [0]
    # pricing cost at 1.5 per USD: 1 - 3 < 0 - 1.5 -> the cheap model wins
    assert pol.select(
        np.array([[1, 0.05]], dtype=np.float32), RewardWeights(w_cost=1.5)
    ).tolist() == [1]


def test_knn_needs_full_info(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    bandit = BanditLog(
        log.request_ids,
        log.queries,
        log.tasks,
        log.models,
        np.zeros(4, dtype=np.int64),
        np.ones(4),
        np.ones(4),
        np.ones(4),
        np.ones(4),
        np.ones(4),
    )
    with pytest.raises(TypeError, match="full-information"):
        make_policy("knn").fit(X, bandit)
    assert mean_outcomes(bandit)[0].tolist() == [1.0, 1.0]  # m1 unseen -> mean over models


def test_task_prior(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("task_prior").fit(X, log)
    pred = pol.predict(X[:3], tasks=np.array(["a", "b", "zzz"]))
    np.testing.assert_allclose(pred.quality, np.array([[1, 0], [0, 1], [2 / 3, 0.5]]))
    assert pol.select(X[:3], W0, tasks=np.array(["a", "b", "zzz"])).tolist() == [0, 1, 0]
    np.testing.assert_allclose(pol.predict(X[:1]).quality, [[2 / 3, 0.5]])


def test_oracle_picks_best_true_utility(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    pol = make_policy("oracle").fit(X, log)
    assert pol.select(X, W0).tolist() == [0, 0, 1, 1]  # NaN quality counts as 0
    # with w_cost = 0.6: row 0 -> 1 - 1.2 = -0.2 vs 0 - 0.6 = -0.6 -> m0 still
    assert pol.select(X, RewardWeights(w_cost=0.6)).tolist() == [0, 0, 1, 1]
    # with w_cost = 2: m0 = 1 - 4 = -3 vs m1 = -2 -> m1
    assert pol.select(X, RewardWeights(w_cost=2.0)).tolist() == [1, 1, 1, 1]
    assert pol.select(X[2:3], W0).tolist() == [1]  # subset by feature lookup
    with pytest.raises(ValueError, match="row 0"):
        pol.predict(np.array([[5, 5]], dtype=np.float32))


def test_deterministic_action_probs_one_hot(tiny: tuple[np.ndarray, FullInfo]) -> None:
    X, log = tiny
    p = make_policy("cheapest").fit(X, log).action_probs(X, W0)
    np.testing.assert_allclose(p, [[0, 1]] * 4)


def test_knn_inferred_needs_no_tag_and_matches_the_tagged_shrinkage() -> None:
    """knn_inferred shrinks toward the task prior it infers from X, so where X reveals the
    task it gives what knn_shrunk gives with the true tag; passing tags changes nothing.
    Negative control: knn_shrunk without tags falls back to the global prior and is far
    from its tagged self."""
    from router_model.policies.text_baselines import KNNInferredPolicy, KNNShrunkPolicy
    from tests.router_model.module_parity import toy_log

    X, log = toy_log(n=600)
    inferred = KNNInferredPolicy(k=10, lam=20.0, C=10.0).fit(X, log)
    tagged = KNNShrunkPolicy(k=10, lam=20.0).fit(X, log)
    q = inferred.predict(X).quality
    assert np.array_equal(q, inferred.predict(X, log.tasks).quality)
    want = tagged.predict(X, log.tasks).quality
    assert np.abs(q - want).mean() < 0.02
    assert np.abs(tagged.predict(X, None).quality - want).mean() > 0.05
