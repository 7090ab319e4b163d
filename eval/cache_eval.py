"""``lmroute cache eval``: the cache on held-out labelled pairs and on a Zipf replay.

1. Held-out pairs: the QQP test split (the same group split the verifier was trained
   with, read from its manifest) plus trap pairs generated from the test questions only
   (lexicon half 1). Every system runs ``cache pairs`` on them: the configured cache
   and each baseline config (a MiniLM cosine threshold, the router-feature cosine).
   Per system: hit / false-hit rate per category at its configured operating point,
   the curve over thresholds, the hit rate at 1 / 2 / 5% false hits (threshold tuned on
   the test pairs themselves: optimistic for the baselines), and each baseline held
   to the configured cache's measured false-hit rate.
2. Zipf replays: real prompts (RouterBench / RouteLLM / DC-Router) with surface
   paraphrases, and QQP duplicate groups (human paraphrases), through the configured
   cache, the exact tier alone and the MiniLM baseline at its 2%-false-hit threshold.

Writes ``metrics.json``, ``report.md`` and PNG plots to the output directory.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.cache_metrics import Scored, baseline_at, summary
from eval.cache_replay import ReplayConf, SimClock, replay
from serve.cache.build import build_cache
from serve.cache.config import CacheConf, load_cache_conf
from serve.cache.pairs import PairIn, run_pairs
from train.cache_data import Pair, group_split, load_qqp, traps_for

log = logging.getLogger(__name__)


@dataclass
class EvalConf:
    config: str
    out_dir: Path
    router: str = "runs/demo/router"
    baselines: list[str] = field(default_factory=lambda: ["conf/cache/minilm_cosine.yaml",
                                                          "conf/cache/router_cosine.yaml"])
    overrides: list[str] = field(default_factory=list)
    shared: Path = Path(os.environ.get("LMROUTE_SHARED_DATA", "../shared/data"))
    max_test_pairs: int = 0
    traps_per_category: int = 0  # 0 = the verifier manifest's traps.test (or 600)
    replay: ReplayConf = field(default_factory=ReplayConf)
    replay_sources: list[str] = field(default_factory=lambda: ["routerbench", "routellm",
                                                               "llmrouter"])
    variants: int = 3


def split_params(conf: CacheConf) -> dict[str, Any]:
    """The verifier's data split (its manifest), so the test split is its held-out one."""
    params: dict[str, Any] = {"split_seed": 0, "val_fraction": 0.15, "test_fraction": 0.15,
                              "traps_test": 600, "max_pairs": 0}
    if conf.decision.kind == "verifier" and conf.decision.artifact:
        from serve.cache.verifier import read_manifest

        data = read_manifest(Path(conf.decision.artifact))["data"]
        params.update({k: data[k] for k in ("split_seed", "val_fraction", "test_fraction",
                                            "max_pairs")})
        params["traps_test"] = data["traps"]["test"]
    return params


def test_pairs(conf: EvalConf, params: dict[str, Any]) -> list[Pair]:
    pairs = load_qqp(conf.shared / "semantic_cache" / "qqp_pairs.jsonl")
    if params["max_pairs"]:
        pairs = pairs[:params["max_pairs"]]
    test = group_split(pairs, params["val_fraction"], params["test_fraction"],
                       params["split_seed"])["test"]
    if conf.max_test_pairs:
        test = test[:conf.max_test_pairs]
    n_traps = conf.traps_per_category or params["traps_test"]
    return test + traps_for("test", test, n_traps, params["split_seed"])


def score_system(name: str, cconf: CacheConf, router: str, pairs: list[Pair],
                 limit: int = 0) -> Scored:
    """``cache pairs`` on the pairs (the first ``limit`` only when > 0)."""
    cache = build_cache(cconf, router)
    todo = pairs[:limit] if limit else pairs
    rows = list(run_pairs(cache, [PairIn(i, p.a, p.b) for i, p in enumerate(todo)],
                          cconf.casefold))
    cache.store.close()
    return Scored(name, np.array([r.score for r in rows]), np.array([r.hit for r in rows]),
                  np.array([r.micros for r in rows]), [r.tier for r in rows])


def score_cosine_batch(name: str, cconf: CacheConf, router: str, pairs: list[Pair],
                       timing_pairs: int = 300) -> Scored:
    """What ``cache pairs`` gives a cosine-threshold config, computed in batches: exact
    tier when the keys are equal (score 1), else the embeddings' cosine (0 when the text
    is too long for the semantic tier). Lookup times come from ``timing_pairs`` real
    ``cache pairs`` runs. Equal to the per-pair path, ~100x cheaper (MiniLM batches)."""
    from serve.cache.build import build_embedder
    from serve.cache.keys import prompt_key

    assert cconf.decision.kind == "cosine"
    emb = build_embedder(cconf, router)
    assert emb is not None
    ka = [prompt_key(p.a, "t", casefold=cconf.casefold) for p in pairs]
    kb = [prompt_key(p.b, "t", casefold=cconf.casefold) for p in pairs]
    ea, eb = emb.embed([k.query for k in ka]), emb.embed([k.query for k in kb])
    cos = (ea * eb).sum(axis=1).astype(np.float64)
    exact = np.array([a.exact == b.exact for a, b in zip(ka, kb, strict=True)])
    ok = np.array([len(a.query) <= cconf.semantic_max_chars >= len(b.query)
                   for a, b in zip(ka, kb, strict=True)])
    scores = np.where(exact, 1.0, np.where(ok, cos, 0.0))
    timing = score_system(name, cconf, router, pairs, timing_pairs)
    return Scored(name, scores, scores >= cconf.decision.threshold, timing.micros,
                  ["exact" if e else None for e in exact])


def pairs_section(conf: EvalConf, ours: CacheConf, pairs: list[Pair]
                  ) -> tuple[dict[str, Any], dict[str, Scored]]:
    """Every system on the held-out pairs -> ({name: summary}, {name: Scored})."""
    labels = np.array([p.label for p in pairs])
    cats = [p.category for p in pairs]
    confs = {"lmroute": ours}
    # baselines score every pair (threshold -1: the cosine itself is the score)
    confs.update({Path(b).stem: load_cache_conf(b, ["decision.threshold=-1.0"])
                  for b in conf.baselines})
    scored = {name: (score_system(name, c, conf.router, pairs) if name == "lmroute" else
                     score_cosine_batch(name, c, conf.router, pairs))
              for name, c in confs.items()}
    systems: dict[str, Any] = {name: summary(s, labels, cats) | {"configured": name == "lmroute"}
                               for name, s in scored.items()}
    fhr = systems["lmroute"]["operating_point"]["qqp_non_duplicates"]["false_hit_rate"]
    for name, s in scored.items():
        if name != "lmroute":
            systems[name]["at_lmroute_false_hit_rate"] = baseline_at(s.scores, labels, cats,
                                                                     fhr)
    return systems, scored


def replay_section(conf: EvalConf, ours: CacheConf, pairs: list[Pair],
                   systems: dict[str, Any]) -> dict[str, Any]:
    """Both replay streams through: ours, the exact tier alone, MiniLM cosine at 2%."""
    from eval.cache_sources import benchmark_intents, median_cost, qqp_intents

    bench = benchmark_intents(conf.shared, conf.replay_sources, conf.variants,
                              conf.replay.seed)
    cost, lat = median_cost(bench)
    streams = {"benchmarks": bench, "qqp_groups": qqp_intents(pairs, cost, lat,
                                                              conf.replay.seed)}
    runs: dict[str, tuple[CacheConf, list[str]]] = {"lmroute": (ours, []),
                                                    "exact_only": (ours, ["semantic=false"])}
    if "minilm_cosine" in systems:
        t = systems["minilm_cosine"]["at_false_hit_rate"]["0.02"]["threshold"]
        runs["minilm_cosine@2%"] = (load_cache_conf(
            next(b for b in conf.baselines if Path(b).stem == "minilm_cosine")),
            [f"decision.threshold={t}"])
    out: dict[str, Any] = {"conf": {"requests": conf.replay.requests,
                                    "zipf_s": conf.replay.zipf_s,
                                    "paraphrase_rate": conf.replay.paraphrase_rate,
                                    "variants_per_prompt": conf.variants,
                                    "sources": conf.replay_sources,
                                    "intents": {k: len(v) for k, v in streams.items()}}}
    for stream, intents in streams.items():
        for name, (base, extra) in runs.items():
            cconf = _with(base, extra)
            clock = SimClock()
            cache = build_cache(cconf, conf.router, clock)
            out[f"{stream}/{name}"] = replay(cache, intents, conf.replay, clock).to_dict()
            cache.store.close()
    return out


def _with(base: CacheConf, overrides: list[str]) -> CacheConf:
    from omegaconf import OmegaConf

    merged = OmegaConf.merge(OmegaConf.structured(base), OmegaConf.from_dotlist(overrides))
    out = OmegaConf.to_object(merged)
    assert isinstance(out, CacheConf)
    return out


def run_cache_eval(conf: EvalConf) -> dict[str, Any]:
    """Run both sections, write metrics.json / report.md / PNGs; returns the metrics."""
    from eval.cache_plots import plot_curve, plot_replay, plot_traps
    from eval.cache_report import write_report

    ours = load_cache_conf(conf.config, conf.overrides)
    params = split_params(ours)
    pairs = test_pairs(conf, params)
    log.info("held-out pairs: %d (QQP test split + traps)", len(pairs))
    systems, _ = pairs_section(conf, ours, pairs)
    metrics: dict[str, Any] = {"config": conf.config, "overrides": conf.overrides,
                               "router": conf.router, "split": params,
                               "n_pairs": len(pairs), "systems": systems}
    if ours.decision.kind == "verifier":
        from serve.cache.verifier import read_manifest

        metrics["verifier_manifest_operating_point"] = read_manifest(
            Path(ours.decision.artifact))["operating_point"]
    if conf.replay.requests > 0:
        metrics["replay"] = replay_section(conf, ours, pairs, systems)
    conf.out_dir.mkdir(parents=True, exist_ok=True)
    plot_curve(systems, conf.out_dir / "curve.png")
    traps = {"lmroute (configured)": systems["lmroute"]["operating_point"]}
    traps.update({f"{n} @2% QQP false hits": s["at_false_hit_rate"]["0.02"]["per_category"]
                  for n, s in systems.items() if n != "lmroute"})
    plot_traps(traps, conf.out_dir / "traps.png")
    if "replay" in metrics:
        plot_replay({k: v for k, v in metrics["replay"].items() if k != "conf"},
                    conf.out_dir / "replay.png")
    (conf.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    write_report(metrics, conf.out_dir / "report.md")
    return metrics
