"""Synthetic generator: seeded, known truth, text carries signal about the best model."""

from __future__ import annotations

import numpy as np

from data.synthetic import TOPICS, make_synthetic
from data.validate import validate_frame


def test_deterministic() -> None:
    a, b = make_synthetic(200, 3, seed=4), make_synthetic(200, 3, seed=4)
    assert a.frame.equals(b.frame) and np.array_equal(a.truth, b.truth)
    assert not make_synthetic(200, 3, seed=5).frame.equals(a.frame)


def test_shapes_and_schema() -> None:
    s = make_synthetic(100, ["a", "b", "c"], seed=0)
    assert s.truth.shape == (100, 3) and len(s.frame) == 300
    assert s.models == ["a", "b", "c"]
    assert validate_frame(s.frame).ok
    assert (s.frame["source"] == "synthetic").all()


def test_truth_matches_observed_quality() -> None:
    s = make_synthetic(20_000, 4, seed=0)
    observed = s.frame["quality"].to_numpy().reshape(20_000, 4).mean(axis=0)
    np.testing.assert_allclose(observed, s.truth.mean(axis=0), atol=0.015)


def test_text_reveals_topic_and_best_model() -> None:
    s = make_synthetic(2_000, 4, seed=2)
    queries = s.frame["query"].to_numpy()[::4]
    for i in range(50):
        topic = s.topic_names[s.topics[i]]
        words = queries[i].split()
        own = sum(w in TOPICS[topic] for w in words)
        assert own >= max(sum(w in TOPICS[t] for w in words) for t in s.topic_names)
    best = s.skill.argmax(axis=0)  # best model per topic
    assert len(set(best.tolist())) > 1 or s.skill.shape[1] == 1  # routing is worth it
