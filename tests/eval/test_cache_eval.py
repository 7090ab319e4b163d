"""The cache evaluation's figures: per-category rates, the curve, held-to-a-rate points,
and the Zipf replay's accounting (a control cache that serves wrong answers is caught)."""

from __future__ import annotations

import numpy as np

from eval.cache_metrics import at_false_hit_rate, curve, per_category
from eval.cache_paraphrase import variants
from eval.cache_replay import Intent, ReplayConf, SimClock, replay, zipf_draws
from serve.cache.cache import CachePolicy, SemanticCache
from serve.cache.decision import CosineDecision
from serve.cache.store import StoreLimits, make_store
from tests.serve.cache.conftest import HashEmbedder

CATS = ["qqp"] * 6 + ["negation"] * 2 + ["surface"] * 2
LABELS = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])


def test_per_category_rates() -> None:
    hits = np.array([1, 1, 0, 1, 0, 0, 1, 0, 1, 0], dtype=bool)
    pc = per_category(hits, LABELS, CATS)
    assert pc["qqp_duplicates"]["hit_rate"] == 2 / 3
    assert pc["qqp_non_duplicates"]["false_hit_rate"] == 1 / 3
    assert pc["negation"]["false_hit_rate"] == 0.5 and pc["traps_all"]["n"] == 2
    assert pc["surface"]["hit_rate"] == 0.5


def test_curve_and_rate_points_are_consistent() -> None:
    scores = np.array([0.9, 0.8, 0.3, 0.85, 0.2, 0.1, 0.95, 0.0, 0.7, 0.6])
    c = curve(scores, LABELS, CATS)
    assert all(0 <= p["false_hit_rate"] <= 1 and 0 <= p["hit_rate"] <= 1 for p in c)
    at = at_false_hit_rate(scores, LABELS, CATS, 0.0)
    assert at["false_hit_rate"] == 0.0 and at["hit_rate"] == 1 / 3  # only 0.9 > 0.85


ANIMALS = ("cat", "dog", "spider", "ant", "horse", "snake", "crab", "bird", "fish", "cow",
           "sheep", "goat", "bee", "fly", "frog", "newt", "lion", "tiger", "bear", "wolf",
           "mouse", "rat", "eel", "owl", "bat", "mole", "seal", "whale", "squid", "octopus")


def _cache(threshold: float, clock: SimClock) -> SemanticCache:
    return SemanticCache(make_store("memory", StoreLimits()), HashEmbedder(4096),
                         CosineDecision(threshold), CachePolicy(index_kind="exact"), clock)


def test_replay_counts_tiers_savings_and_false_hits() -> None:
    import random

    rng = random.Random(0)
    texts = [f"how many legs does a {a} have" for a in ANIMALS]
    intents = [Intent((t, *variants(t, 2, rng)), 0.01, 500.0) for t in texts]
    conf = ReplayConf(requests=400, seed=1)
    clock = SimClock()
    ok = replay(_cache(0.999, clock), intents, conf, clock).to_dict()
    assert ok["hit_rate"] > 0.5 and sum(ok["false_hits"].values()) == 0
    assert abs(ok["cost_saved_usd"] - 0.01 * (ok["hit_rate"] * 400)) < 1e-6
    # negative control: a cache that serves anything near (threshold 0.3) serves
    # other intents' answers, and the replay counts them as false hits
    clock = SimClock()
    bad = replay(_cache(0.3, clock), intents, conf, clock).to_dict()
    assert sum(bad["false_hits"].values()) > 0
    assert bad["cost_saved_usd"] < 0.01 * bad["hit_rate"] * 400


def test_zipf_draws_are_skewed_and_seeded() -> None:
    d1 = zipf_draws(100, ReplayConf(requests=5000, seed=3))
    d2 = zipf_draws(100, ReplayConf(requests=5000, seed=3))
    counts = np.bincount(d1, minlength=100)
    assert (d1 == d2).all() and counts.max() > 10 * np.median(counts)
