"""The logit-space stack (router_model/policies/stacked.py): same numbers in torch and
numpy, ONNX export, and that it learns to trust the informative view (negative control:
the same stack on a prior view that carries nothing puts its weight on the ensemble)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data.matrix import FullInfo
from router_model.policies.stacked import StackedPolicy, fit_soft_logistic, logit


def _log(seed: int = 0, n: int = 400) -> tuple[np.ndarray, FullInfo]:
    rng = np.random.default_rng(seed)
    M, d = 3, 12
    X = rng.normal(size=(n, d)).astype(np.float32)
    tasks = np.where(X[:, 0] > 0, "a", "b")
    q = (rng.random((n, M)) < np.where(tasks[:, None] == "a", 0.8, 0.3)).astype(float)
    c = np.tile([1e-3, 1e-4, 5e-4], (n, 1))
    return X, FullInfo(np.arange(n).astype(str), np.array(["x"] * n), tasks,
                       ["m0", "m1", "m2"], q, c, np.ones((n, M)), np.ones((n, M)))


def test_soft_logistic_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(20000, 2))
    p = 1 / (1 + np.exp(-(1.5 * Z[:, 0] - 0.5 * Z[:, 1] + 0.3)))
    w = fit_soft_logistic(Z, p, l2=0.0)  # soft targets: the exact probabilities
    assert np.allclose(w, [1.5, -0.5, 0.3], atol=0.05)


@pytest.mark.parametrize("use_prior", [True, False])
def test_stacked_module_matches_the_policy_and_exports(tmp_path: Path, use_prior: bool) -> None:
    from router_model.export import export_graph
    from router_model.graph import RouterGraph
    from router_model.parity import check_parity

    X, log = _log()
    pol = StackedPolicy(n_folds=2, use_prior=use_prior, hidden=8, epochs=3,
                        n_ensemble=2).fit(X, log)
    assert pol.coef_.shape == (3, 2 + int(use_prior))
    mod = pol.torch_module()
    with torch.inference_mode():
        got = [t.numpy() for t in mod(torch.from_numpy(X))]
    pred = pol.predict(X)
    assert np.abs(got[0] - pred.quality).max() < 1e-5
    assert np.abs(got[1] - pred.cost_usd).max() / pred.cost_usd.max() < 1e-4

    class _Feat(torch.nn.Module):  # ids -> the fixed features of the first rows
        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(X[:1]).expand(ids.shape[0], -1) + 0 * mask[:, :1]

    graph = RouterGraph(_Feat(), mod)
    export_graph(graph, tmp_path / "router.onnx", 3, "legacy")
    rep = check_parity(graph, tmp_path / "router.onnx", 3, n=16)
    assert rep.choice_agreement == 1.0 and rep.max_abs_diff["quality"] < 1e-5


def test_stack_weights_the_view_that_carries_the_signal() -> None:
    X, log = _log(n=600)
    informative = StackedPolicy(n_folds=3, hidden=8, epochs=3, n_ensemble=1).fit(X, log)
    # negative control: task tags drawn at random, so the inferred prior knows nothing
    rng = np.random.default_rng(5)
    shuffled = FullInfo(log.request_ids, log.queries, rng.permutation(log.tasks),
                        log.models, log.quality, log.cost_usd, log.latency_ms, log.energy_j)
    control = StackedPolicy(n_folds=3, hidden=8, epochs=3, n_ensemble=1).fit(X, shuffled)
    assert informative.coef_[:, 1].mean() > 0.5      # the real prior view is used
    assert abs(control.coef_[:, 1]).mean() < informative.coef_[:, 1].mean() / 2
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()
