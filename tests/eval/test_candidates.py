"""RouterCandidate: the linear-utility sweep shortcut is used only when it reproduces the
graph's choices."""

from __future__ import annotations

import numpy as np

from data.matrix import FullInfo
from data.synthetic import make_synthetic
from eval.candidates import RouterCandidate, decision_latency_us
from router_model.reward import RewardWeights
from tests.eval.fake_router import FakeRouter


def _setup(outputs: bool, policy: str = "knn") -> tuple[FakeRouter, list[str]]:
    full = FullInfo.from_frame(make_synthetic(400, models=3, seed=2).frame)
    train = full.subset(np.arange(300))
    kw = {"k": 5} if policy == "knn" else {}
    return FakeRouter(train, policy, outputs=outputs, **kw), list(full.queries[300:])


def test_linear_shortcut_matches_graph() -> None:
    router, texts = _setup(outputs=True)
    cand = RouterCandidate(router, texts)  # one batch: kNN distance ties are batch-sensitive
    for wc in (0.0, 30.0, 3000.0, 3e5):
        w = RewardWeights(w_cost=wc)
        np.testing.assert_array_equal(cand.choose(w), router.scores(texts, w)["choice"])
    assert cand.linear_agreement == 1.0
    assert len(cand._cache) == 2  # the graph ran for the two probe weights only


def test_graph_used_without_predictions() -> None:
    router, texts = _setup(outputs=False)
    cand = RouterCandidate(router, texts)
    w = RewardWeights(w_cost=3000.0)
    np.testing.assert_array_equal(cand.choose(w), router.scores(texts, w)["choice"])
    assert cand.linear_agreement == 0.0 and len(cand._cache) >= 2


def test_graph_used_when_choices_are_not_the_linear_argmax() -> None:
    router, texts = _setup(outputs=True, policy="cheapest")  # picks by cost, not utility
    cand = RouterCandidate(router, texts)
    w = RewardWeights()
    np.testing.assert_array_equal(cand.choose(w), router.scores(texts, w)["choice"])
    assert cand.linear_agreement is not None and cand.linear_agreement < 0.995


def test_decision_latency_fields() -> None:
    router, texts = _setup(outputs=False)
    lat = decision_latency_us(router, texts[:10], RewardWeights())
    assert lat["n"] == 10 and 0 < lat["p50"] <= lat["p99"] and lat["wall_p50"] >= lat["p50"]
