"""The joint policy (router_model/policies/joint.py): without auxiliary rows it is the
supervised policy; auxiliary rows train only the cells they observe; rows that carry a
shared model's signal improve that model's predictions from a small log, and the same
rows with shuffled labels (negative control) do not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from data.matrix import FullInfo
from router_model.policies.joint import AuxRows, JointPolicy, with_aux
from router_model.policies.supervised import SupervisedPolicy, full_info_targets
from tests.router_model.module_parity import toy_log

SMALL: dict[str, Any] = {"hidden": 16, "epochs": 8, "n_ensemble": 2}


def test_without_aux_it_is_the_supervised_policy() -> None:
    X, log = toy_log(n=200)
    a = JointPolicy(aux=None, **SMALL).fit(X, log).predict(X).quality
    b = SupervisedPolicy(**SMALL).fit(X, log).predict(X).quality
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_aux_rows_weigh_only_observed_quality_cells() -> None:
    X, log = toy_log(n=10)
    q = np.full((4, 3), np.nan)
    q[:, 1] = [1, 0, 1, 0]
    Xa, t = with_aux(X, full_info_targets(log), AuxRows(np.ones((4, 12), np.float32), q), 0.5)
    assert Xa.shape == (14, 12)
    assert (t.weights["quality"][10:, 1] == 0.5).all() and (t.weights["quality"][10:, 0] == 0).all()
    for name in ("cost_usd", "latency_ms", "energy_j"):
        assert (t.weights[name][10:] == 0).all() and (t.weights[name][:10] == 1).all()


def test_aux_rows_of_the_wrong_shape_are_refused() -> None:
    X, log = toy_log(n=10)
    with pytest.raises(ValueError, match="models"):
        with_aux(X, full_info_targets(log), AuxRows(np.ones((2, 12), np.float32),
                                                    np.ones((2, 2))), 1.0)
    with pytest.raises(ValueError, match="same n"):
        AuxRows(np.ones((2, 12), np.float32), np.ones((3, 3)))


def _world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 12); model 0 is right exactly when X[:, 3] > 0 (a per-query signal)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12)).astype(np.float32)
    q = np.stack([(X[:, 3] > 0), rng.random(n) < 0.5, rng.random(n) < 0.7], 1)
    return X, q.astype(float)


def _log(X: np.ndarray, q: np.ndarray) -> FullInfo:
    n, M = q.shape
    return FullInfo(np.arange(n).astype(str), np.array(["x"] * n), np.array([""] * n),
                    ["m0", "m1", "m2"], q, np.full((n, M), 1e-3), np.ones((n, M)),
                    np.ones((n, M)))


def test_aux_signal_helps_a_shared_model_and_shuffled_labels_do_not() -> None:
    X, q = _world(40, 0)
    Xa, qa_full = _world(3000, 1)
    Xt, qt = _world(2000, 2)
    qa = np.full_like(qa_full, np.nan)
    qa[:, 0] = qa_full[:, 0]  # only the shared model was run on the auxiliary rows
    shuffled = qa.copy()
    shuffled[:, 0] = np.random.default_rng(3).permutation(qa[:, 0])

    def err(aux: AuxRows | None) -> float:
        pol = JointPolicy(aux=aux, **{**SMALL, "epochs": 20})
        pred = pol.fit(X, _log(X, q)).predict(Xt).quality
        return float(np.mean((pred[:, 0] - qt[:, 0]) ** 2))

    none, real, control = err(None), err(AuxRows(Xa, qa)), err(AuxRows(Xa, shuffled))
    assert real < 0.6 * none, (none, real)
    assert control > 0.9 * none, (none, control)
