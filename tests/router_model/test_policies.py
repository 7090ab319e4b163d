"""Supervised and off-policy learners recover the synthetic ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from data.matrix import FullInfo
from data.simulate import LoggingPolicy, simulate_bandit
from router_model.policies.base import make_policy
from router_model.policies.offpolicy import OffPolicyPolicy
from router_model.policies.supervised import SupervisedPolicy
from router_model.reward import RewardWeights

SMALL = {"hidden": 32, "depth": 1, "epochs": 15, "n_ensemble": 1, "batch_size": 128}


def _split(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n) < int(0.8 * n), np.arange(n) >= int(0.8 * n)


def _true_value(truth: np.ndarray, choice: np.ndarray) -> float:
    return float(truth[np.arange(len(choice)), choice].mean())


def test_supervised_learns_quality_and_cost(synth, synth_log: FullInfo, synth_X) -> None:
    tr, te = _split(len(synth_log))
    pol = SupervisedPolicy(**SMALL).fit(synth_X[tr], synth_log.subset(tr))
    pred = pol.predict(synth_X[te])
    truth = synth.truth[te]
    corr = np.corrcoef(pred.quality.ravel(), truth.ravel())[0, 1]
    assert corr > 0.8, corr
    rel = np.abs(pred.cost_usd - synth_log.cost_usd[te]) / synth_log.cost_usd[te]
    assert np.median(rel) < 0.2
    chosen = pol.select(synth_X[te], RewardWeights())
    best_fixed = truth.mean(0).max()
    assert _true_value(truth, chosen) > best_fixed + 0.05  # per-query routing pays off
    assert _true_value(truth, chosen) > 0.95 * truth.max(1).mean()
    assert len(pol.history_) == SMALL["epochs"]


def test_supervised_refuses_bandit_logs(synth_log: FullInfo, synth_X) -> None:
    bandit = simulate_bandit(synth_log, LoggingPolicy("uniform"), np.random.default_rng(0))
    with pytest.raises(TypeError, match="full-information"):
        SupervisedPolicy(**SMALL).fit(synth_X, bandit)
    with pytest.raises(ValueError, match="rows"):
        SupervisedPolicy(**SMALL).fit(synth_X[:10], synth_log)


@pytest.mark.parametrize("estimator", ["ips", "dr"])
def test_offpolicy_beats_its_logging_policy(synth, synth_log: FullInfo, synth_X,
                                            estimator: str) -> None:
    tr, te = _split(len(synth_log))
    logger = LoggingPolicy("epsilon_greedy", epsilon=0.4, around="cheapest")
    bandit = simulate_bandit(synth_log.subset(tr), logger, np.random.default_rng(1))
    assert (bandit.propensity < 1).all()
    pol = OffPolicyPolicy(estimator=estimator, **SMALL).fit(synth_X[tr], bandit)
    truth = synth.truth[te]
    learned = _true_value(truth, pol.select(synth_X[te], RewardWeights()))
    cheapest = int(np.argmin(np.nanmean(synth_log.cost_usd, 0)))
    logging_value = _true_value(truth, np.full(int(te.sum()), cheapest))
    assert learned > logging_value + 0.1, (learned, logging_value)
    assert learned > truth.mean(0).max(), "should beat every single model"


def test_offpolicy_validates_its_log(synth_log: FullInfo, synth_X) -> None:
    bandit = simulate_bandit(synth_log, LoggingPolicy("uniform"), np.random.default_rng(0))
    bandit.propensity[5] = 0.0
    with pytest.raises(ValueError, match="propensity: row 5"):
        OffPolicyPolicy(**SMALL).fit(synth_X, bandit)
    with pytest.raises(TypeError, match="BanditLog"):
        OffPolicyPolicy(**SMALL).fit(synth_X, synth_log)
    with pytest.raises(ValueError, match="estimator"):
        OffPolicyPolicy(estimator="magic")


def test_registry_builds_policies() -> None:
    assert isinstance(make_policy("supervised", hidden=8), SupervisedPolicy)
    assert isinstance(make_policy("offpolicy", estimator="ips"), OffPolicyPolicy)


def test_fused_ensemble_equals_the_ensemble(synth_log: FullInfo, synth_X) -> None:
    import torch

    from router_model.policies.outcome_net import FusedEnsemble

    pol = SupervisedPolicy(**{**SMALL, "n_ensemble": 3, "depth": 2, "epochs": 2})
    pol.fit(synth_X[:300], synth_log.subset(np.arange(300)))
    fused = pol.torch_module()
    assert isinstance(fused, FusedEnsemble)
    x = torch.from_numpy(synth_X[300:400])
    with torch.no_grad():
        for a, b in zip(fused(x), pol.module_(x), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
