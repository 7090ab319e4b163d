"""Zipf replay: a request stream of repeated and paraphrased prompts through the cache.

An ``Intent`` is one thing to ask (its texts: the original and its paraphrases) with
the cost and latency of answering it by a model call. Requests draw intents with
P(rank r) proportional to r^-s; a request is a paraphrase with probability
``paraphrase_rate``, else the original text. Each request is looked up; a miss stores
the answer (tagged with the intent). A hit is correct when the served entry belongs to
the same intent, else a false hit. Time is simulated (``interval_s`` per request), so
TTLs behave as in traffic of that rate.

Reported: hit rate per tier, false hits, cost saved (correct hits' model calls; false
hits' separately), latency saved (hits' call latency minus every request's lookup time).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from serve.cache.cache import SemanticCache
from serve.cache.entry import StoredAnswer
from serve.cache.keys import prompt_key


@dataclass(frozen=True)
class Intent:
    """texts[0] is the original; cost_usd / latency_ms: one model call for it."""

    texts: tuple[str, ...]
    cost_usd: float
    latency_ms: float
    source: str = ""


@dataclass
class ReplayConf:
    requests: int = 20_000
    zipf_s: float = 1.0
    paraphrase_rate: float = 0.5
    seed: int = 0
    interval_s: float = 1.0
    tenant: str = "replay"


@dataclass
class SimClock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class ReplayResult:
    requests: int = 0
    tiers: dict[str, int] = field(default_factory=lambda: {"exact": 0, "semantic": 0,
                                                           "miss": 0})
    false_hits: dict[str, int] = field(default_factory=lambda: {"exact": 0, "semantic": 0})
    cost_total_usd: float = 0.0
    cost_saved_usd: float = 0.0
    cost_false_hits_usd: float = 0.0
    latency_total_ms: float = 0.0
    latency_saved_ms: float = 0.0
    lookup_ms: float = 0.0
    unique_intents: int = 0

    def to_dict(self) -> dict[str, object]:
        n = max(self.requests, 1)
        hits = self.tiers["exact"] + self.tiers["semantic"]
        return {"requests": self.requests, "unique_intents_requested": self.unique_intents,
                "hit_rate": hits / n,
                "hit_rate_per_tier": {t: self.tiers[t] / n for t in ("exact", "semantic")},
                "false_hits": dict(self.false_hits),
                "false_hit_rate_of_hits": sum(self.false_hits.values()) / max(hits, 1),
                "cost_total_usd": self.cost_total_usd, "cost_saved_usd": self.cost_saved_usd,
                "cost_saved_fraction": self.cost_saved_usd / max(self.cost_total_usd, 1e-12),
                "cost_served_by_false_hits_usd": self.cost_false_hits_usd,
                "latency_total_ms": self.latency_total_ms,
                "latency_saved_ms": self.latency_saved_ms,
                "latency_saved_fraction": self.latency_saved_ms / max(self.latency_total_ms,
                                                                      1e-12),
                "lookup_ms_total": self.lookup_ms,
                "lookup_ms_mean": self.lookup_ms / n}


def zipf_draws(n_intents: int, conf: ReplayConf) -> np.ndarray:
    """(requests,) intent indices; intent rank order is a seeded permutation."""
    rng = np.random.default_rng(conf.seed)
    p = 1.0 / np.arange(1, n_intents + 1) ** conf.zipf_s
    ranks = rng.choice(n_intents, size=conf.requests, p=p / p.sum())
    return rng.permutation(n_intents)[ranks]


def replay(cache: SemanticCache, intents: Sequence[Intent], conf: ReplayConf,
           clock: SimClock | None = None) -> ReplayResult:
    """Run the stream through ``cache`` (built with ``clock`` for simulated time)."""
    rng = random.Random(conf.seed)
    res = ReplayResult(requests=conf.requests)
    draws = zipf_draws(len(intents), conf)
    res.unique_intents = len(set(draws.tolist()))
    for i in tqdm(draws.tolist(), desc="zipf replay", unit="req"):
        it = intents[i]
        text = rng.choice(it.texts[1:]) if len(it.texts) > 1 and \
            rng.random() < conf.paraphrase_rate else it.texts[0]
        key = prompt_key(text, conf.tenant)
        r = cache.lookup(key)
        res.lookup_ms += r.micros / 1e3
        res.cost_total_usd += it.cost_usd
        res.latency_total_ms += it.latency_ms
        if r.hit and r.entry is not None and r.tier is not None:
            res.tiers[r.tier] += 1
            if r.entry.answer.content == str(i):
                res.cost_saved_usd += it.cost_usd
                res.latency_saved_ms += it.latency_ms
            else:
                res.false_hits[r.tier] += 1
                res.cost_false_hits_usd += it.cost_usd
        else:
            res.tiers["miss"] += 1
            cache.put(key, StoredAnswer(str(i), "stop", "replay"), vector=r.vector,
                      cost_usd=it.cost_usd, latency_ms=it.latency_ms)
        if clock is not None:
            clock.now += conf.interval_s
    res.latency_saved_ms -= res.lookup_ms
    return res
