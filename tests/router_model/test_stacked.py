"""The logit-space stack (router_model/policies/stacked.py): same numbers in torch and
numpy, ONNX export, and that it learns to trust the informative view (negative control:
the same stack on a prior view that carries nothing puts its weight on the ensemble)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.matrix import FullInfo
from router_model.policies.stacked import StackedPolicy, fit_soft_logistic, logit
from tests.router_model.module_parity import assert_module_matches_and_exports, toy_log


def test_soft_logistic_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(20000, 2))
    p = 1 / (1 + np.exp(-(1.5 * Z[:, 0] - 0.5 * Z[:, 1] + 0.3)))
    w = fit_soft_logistic(Z, p, l2=0.0)  # soft targets: the exact probabilities
    assert np.allclose(w, [1.5, -0.5, 0.3], atol=0.05)


@pytest.mark.parametrize("use_prior", [True, False])
def test_stacked_module_matches_the_policy_and_exports(tmp_path: Path, use_prior: bool) -> None:
    X, log = toy_log()
    pol = StackedPolicy(n_folds=2, use_prior=use_prior, hidden=8, epochs=3,
                        n_ensemble=2).fit(X, log)
    assert pol.coef_.shape == (3, 2 + int(use_prior))
    assert_module_matches_and_exports(pol, X, tmp_path)


def test_stack_weights_the_view_that_carries_the_signal() -> None:
    X, log = toy_log(n=600)
    informative = StackedPolicy(n_folds=3, hidden=8, epochs=3, n_ensemble=1).fit(X, log)
    # negative control: task tags drawn at random, so the inferred prior knows nothing
    rng = np.random.default_rng(5)
    shuffled = FullInfo(log.request_ids, log.queries, rng.permutation(log.tasks),
                        log.models, log.quality, log.cost_usd, log.latency_ms, log.energy_j)
    control = StackedPolicy(n_folds=3, hidden=8, epochs=3, n_ensemble=1).fit(X, shuffled)
    assert informative.coef_[:, 1].mean() > 0.5      # the real prior view is used
    assert abs(control.coef_[:, 1]).mean() < informative.coef_[:, 1].mean() / 2
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()
