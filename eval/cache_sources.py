"""Intents for the replay: real prompts with their call cost, and QQP duplicate groups.

``benchmark_intents`` converts RouterBench, RouteLLM and DC-Router with the project's
converters (``data.convert``): each distinct prompt is one intent, its cost and latency
the mean over that source's models of the converted rows (RouterBench's own cost,
price-table cost for the others; latency modelled from the serving profiles, as the
converters mark it). Paraphrases come from ``eval.cache_paraphrase``.

``qqp_intents`` turns the duplicate groups of the held-out QQP pairs (connected
components of label-1 pairs) into intents whose texts are real human paraphrases; their
cost is the median of the benchmark intents' (QQP has no model outcomes).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval.cache_paraphrase import variants
from eval.cache_replay import Intent
from train.cache_data import Pair, UnionFind

log = logging.getLogger(__name__)
SOURCES = {"routerbench": "routerbench", "routellm": "routellm", "llmrouter": "llmrouter"}


def benchmark_intents(shared: Path, sources: Sequence[str], n_variants: int, seed: int
                      ) -> list[Intent]:
    """One intent per distinct prompt of each source (see module)."""
    from data.convert import convert

    rng = random.Random(seed)
    out: list[Intent] = []
    for src in sources:
        if src not in SOURCES:
            raise ValueError(f"--sources: expected some of {sorted(SOURCES)}, got {src!r}")
        df = convert(src, [shared / SOURCES[src]]).frame
        per = df.groupby("query", sort=True)[["cost_usd", "latency_ms"]].mean()
        for query, row in per.iterrows():
            text = str(query)
            out.append(Intent((text, *variants(text, n_variants, rng)),
                              float(row["cost_usd"]), float(row["latency_ms"]), src))
        log.info("%s: %d intents", src, len(per))
    return out


def duplicate_groups(pairs: Sequence[Pair]) -> list[list[str]]:
    """Connected components of the label-1 QQP pairs (each: >= 2 questions)."""
    uf = UnionFind()
    for p in pairs:
        if p.category == "qqp" and p.label == 1:
            uf.union(p.a, p.b)
    groups: dict[str, list[str]] = {}
    for q in list(uf.parent):
        groups.setdefault(uf.find(q), []).append(q)
    return [sorted(g) for g in groups.values() if len(g) >= 2]


def qqp_intents(pairs: Sequence[Pair], cost_usd: float, latency_ms: float, seed: int
                ) -> list[Intent]:
    """One intent per duplicate group; texts[0] is a random member, the rest its
    paraphrases (human-written)."""
    rng = random.Random(seed)
    out = []
    for g in duplicate_groups(pairs):
        rng.shuffle(g)
        out.append(Intent(tuple(g), cost_usd, latency_ms, "qqp"))
    return out


def median_cost(intents: Sequence[Intent]) -> tuple[float, float]:
    if not intents:
        return 0.0, 0.0
    return (float(np.median([i.cost_usd for i in intents])),
            float(np.median([i.latency_ms for i in intents])))
