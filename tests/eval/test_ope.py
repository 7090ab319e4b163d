"""DM / IPS / SNIPS / DR on a 4-row log computed by hand, diagnostics, and the Open
Bandit Pipeline cross-check."""

from __future__ import annotations

import numpy as np
import pytest

from eval.bootstrap import Bootstrap
from eval.ope import BanditData, effective_sample_size, estimate, round_values


@pytest.fixture
def four() -> BanditData:
    return BanditData(
        action=np.array([0, 1, 0, 1]),
        propensity=np.array([0.5, 0.5, 0.8, 0.2]),
        reward=np.array([1.0, 0.0, 0.0, 1.0]),
        target_probs=np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]]),
        reward_hat=np.tile([0.6, 0.4], (4, 1)),
        models=["a", "b"],
    )


def test_estimates_by_hand(four: BanditData) -> None:
    # w = (2, 0, 0, 5); IPS = (2 + 5) / 4; SNIPS = 7 / 7; DM = (.6 + .6 + .4 + .4) / 4
    # DR rows: .6 + 2 * .4, .6, .4, .4 + 5 * .6 -> (1.4 + .6 + .4 + 3.4) / 4
    res = estimate(four, Bootstrap(4, n_boot=200, seed=0))
    assert res.estimates["ips"].mean == pytest.approx(1.75)
    assert res.estimates["snips"].mean == pytest.approx(1.0)
    assert res.estimates["dm"].mean == pytest.approx(0.5)
    assert res.estimates["dr"].mean == pytest.approx(1.45)
    assert res.ess == pytest.approx(49 / 29)
    assert res.logged_value == pytest.approx(0.5)
    for iv in res.estimates.values():
        assert iv.ci_low <= iv.mean <= iv.ci_high


def test_warnings(four: BanditData) -> None:
    res = estimate(four, Bootstrap(4, n_boot=50), tiny_propensity=0.3)
    assert any("below 0.3" in w for w in res.warnings)
    assert any("effective sample size" in w for w in res.warnings) is False  # 1.7 > 0.4
    three = BanditData(
        np.array([0, 0]),
        np.array([0.5, 0.5]),
        np.array([1.0, 0.0]),
        np.array([[0.0, 0, 1], [0, 0, 1]]),
        np.zeros((2, 3)),
        ["a", "b", "c"],
    )
    msgs = estimate(three, Bootstrap(2, n_boot=50)).warnings
    assert any("never took c (100.0% of candidate traffic)" in w for w in msgs)
    assert any("effective sample size 0" in w for w in msgs)


def test_bad_input_names_field_and_row(four: BanditData) -> None:
    with pytest.raises(ValueError, match=r"propensity: row 2"):
        BanditData(
            four.action,
            np.array([0.5, 0.5, 0.0, 0.2]),
            four.reward,
            four.target_probs,
            four.reward_hat,
        )
    with pytest.raises(ValueError, match="reward_hat"):
        BanditData(four.action, four.propensity, four.reward, four.target_probs, np.zeros(4))


def test_ess_uniform_weights() -> None:
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)


def test_matches_open_bandit_pipeline() -> None:
    ope = pytest.importorskip(
        "obp.ope",
        reason="obp not installed (test-only: pip install --no-deps "
        "--ignore-requires-python obp==0.5.7 seaborn)",
    )
    rng = np.random.default_rng(0)
    n, M = 500, 3
    p0 = rng.dirichlet(np.ones(M), size=n)
    a = np.array([rng.choice(M, p=row) for row in p0])
    d = BanditData(
        a, p0[np.arange(n), a], rng.random(n), rng.dirichlet(np.ones(M), size=n), rng.random((n, M))
    )
    ours = round_values(d)
    kw = {
        "reward": d.reward,
        "action": d.action,
        "pscore": d.propensity,
        "action_dist": d.target_probs[:, :, None],
        "position": np.zeros(n, dtype=int),
    }
    rh = d.reward_hat[:, :, None]
    assert ope.InverseProbabilityWeighting().estimate_policy_value(**kw) == pytest.approx(
        ours["ips"].mean()
    )
    assert ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(
        **kw
    ) == pytest.approx(ours["ips"].sum() / ours["w"].sum())
    assert ope.DoublyRobust().estimate_policy_value(
        **kw, estimated_rewards_by_reg_model=rh
    ) == pytest.approx(ours["dr"].mean())
    assert ope.DirectMethod().estimate_policy_value(
        action_dist=kw["action_dist"], position=kw["position"], estimated_rewards_by_reg_model=rh
    ) == pytest.approx(ours["dm"].mean())


def test_a_new_estimator_is_one_registered_class() -> None:
    """Adding an estimator edits no other: it appears in ``estimate`` and ``round_values``;
    a second registration under a taken name is refused."""
    import eval.ope as ope

    @ope.register_estimator("switch_test")
    class _Half(ope.Estimator):
        def round_values(self, d, w):  # type: ignore[no-untyped-def]
            return 0.5 * ope.DirectMethod().round_values(d, w)

    try:
        rng = np.random.default_rng(0)
        n, M = 200, 3
        p = np.full((n, M), 1 / M)
        d = BanditData(rng.integers(0, M, n), np.full(n, 1 / M), rng.random(n), p,
                       rng.random((n, M)))
        res = estimate(d, Bootstrap(n, 50, 0))
        assert res.estimates["switch_test"].mean == pytest.approx(
            0.5 * res.estimates["dm"].mean)
        assert "switch_test" in round_values(d)
        with pytest.raises(ValueError, match="registered twice"):
            ope.register_estimator("dm")(_Half)
    finally:
        ope.ESTIMATOR_REGISTRY.pop("switch_test", None)
