"""Splits, bandit loading and validation curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.matrix import FullInfo
from data.synthetic import make_synthetic
from router_model.policies.base import Policy, Predictions
from train.evaluate import validation_report
from train.sources import split_indices, to_view


def test_split_is_stratified_disjoint_and_seeded() -> None:
    tasks = np.array(["a"] * 100 + ["b"] * 50)
    tr, va = split_indices(tasks, 0.2, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 150
    assert (tasks[va] == "a").sum() == 20 and (tasks[va] == "b").sum() == 10
    assert np.array_equal(va, split_indices(tasks, 0.2, seed=3)[1])
    with pytest.raises(ValueError, match="val_fraction"):
        split_indices(tasks, 0.0, 0)


def test_bandit_view_requires_propensities() -> None:
    df = make_synthetic(5, models=2).frame
    with pytest.raises(ValueError, match="propensity: row 0"):
        to_view(df, "bandit")
    with pytest.raises(ValueError, match="feedback"):
        to_view(df, "partial")


class _Table(Policy):
    """Predicts fixed quality/cost per model (for a known curve)."""

    def __init__(self, q: list[float], c: list[float]) -> None:
        self.q, self.c = np.array(q), np.array(c)

    def fit(self, X, log):  # type: ignore[no-untyped-def]
        self.models_ = list(log.models)
        return self

    def predict(self, X, tasks=None) -> Predictions:  # type: ignore[no-untyped-def]
        n = len(X)
        z = np.zeros((n, len(self.q)))
        return Predictions(np.tile(self.q, (n, 1)), np.tile(self.c, (n, 1)), z, z)


def test_curve_and_target_on_a_known_case() -> None:
    n = 10
    log = FullInfo(np.arange(n).astype(str), np.array(["q"] * n), np.array([""] * n),
                   ["cheap", "big"], np.tile([0.8, 0.9], (n, 1)), np.tile([1.0, 10.0], (n, 1)),
                   np.zeros((n, 2)), np.zeros((n, 2)))
    pol = _Table([0.8, 0.9], [1.0, 10.0]).fit(None, log)
    rep = validation_report(pol, np.zeros((n, 1)), log, [0.0, 0.1], "big", 0.95)
    assert [p.quality for p in rep.curve] == pytest.approx([0.9, 0.8])
    assert rep.reference_quality == pytest.approx(0.9)
    # 0.8 < 0.95 * 0.9: only the w_cost=0 point (the big model, cost 10) reaches the target
    assert rep.cheapest_at_target is not None and rep.cheapest_at_target.cost_usd == 10.0
    # the one definition (eval.curves.cost_to_reach) interpolates on the hull: a mix of the
    # two points, 1 + (0.855 - 0.8) / 0.1 * 9 = 5.95 of the big model's 10
    assert rep.flat_metrics()["val_cost_fraction_at_target"] == pytest.approx(0.595)
    rep = validation_report(pol, np.zeros((n, 1)), log, [0.0, 0.1], "big", 0.85)
    assert rep.cheapest_at_target is not None and rep.cheapest_at_target.cost_usd == 1.0
    assert rep.flat_metrics()["val_cost_fraction_at_target"] == pytest.approx(0.1)
    assert isinstance(pd.DataFrame(rep.to_dict()["curve"]), pd.DataFrame)
