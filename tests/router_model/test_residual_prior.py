"""The residual-on-prior policy (router_model/policies/residual_prior.py): with the
residual at zero it is the inferred task prior, torch and numpy agree and it exports to
ONNX, and a strong residual penalty keeps it near the prior while a weak one moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router_model.policies.residual_prior import ResidualPriorPolicy
from router_model.policies.text_baselines import InferredTaskPriorPolicy
from tests.router_model.module_parity import assert_module_matches_and_exports, toy_log


def test_zero_residual_is_the_inferred_prior() -> None:
    X, log = toy_log()
    pol = ResidualPriorPolicy(epochs=0, hidden=8, n_ensemble=2).fit(X, log)
    prior = InferredTaskPriorPolicy().fit(X, log).predict(X).quality
    assert np.abs(pol.predict(X).quality - np.clip(prior, 1e-4, 1 - 1e-4)).max() < 1e-5


def test_residual_module_matches_the_policy_and_exports(tmp_path: Path) -> None:
    X, log = toy_log()
    pol = ResidualPriorPolicy(hidden=8, epochs=3, n_ensemble=2).fit(X, log)
    assert pol.predict(X).quality.shape == (len(X), 3)
    assert_module_matches_and_exports(pol, X, tmp_path)


def test_residual_penalty_shrinks_toward_the_prior() -> None:
    X, log = toy_log(n=600)
    prior = InferredTaskPriorPolicy().fit(X, log).predict(X).quality
    gaps = [np.abs(ResidualPriorPolicy(residual_l2=l2, hidden=8, epochs=5, n_ensemble=1)
                   .fit(X, log).predict(X).quality - prior).mean() for l2 in (0.0, 100.0)]
    assert gaps[1] < gaps[0] / 2


def test_cross_fitted_offset_is_out_of_fold() -> None:
    X, log = toy_log(n=300)
    pol = ResidualPriorPolicy(cross_fit=3, epochs=0, hidden=8, n_ensemble=1).fit(X, log)
    inside = pol._offset(X, log)
    pol.cross_fit = 0
    assert np.abs(inside - pol._offset(X, log)).max() > 1e-3  # folds' priors differ
    assert pol.predict(X).quality.shape == (300, 3)
    with pytest.raises(ValueError, match="cross_fit"):
        ResidualPriorPolicy(cross_fit=1)
