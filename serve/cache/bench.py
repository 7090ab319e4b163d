"""``lmroute bench cache``: nearest-neighbour lookup p50/p99 at 10k, 100k and 1M entries.

One query thread. The stored vectors are real: the router's embedding (``--router``)
of the QQP questions, and past their number, copies of them with small Gaussian noise
(renormalised), so the index sees the clustered data a cache holds, not uniform noise.
Queries are other questions (not stored) with the same noise. For each size and index
kind (``exact``, ``hnsw``) it reports build time, lookup p50 / p99 / mean (us) with k
candidates, and for hnsw its recall@1 against exact search. It also times the other
parts of a semantic lookup separately: the query embedding (router features; MiniLM
with ``--minilm``) and the verifier on k candidates (``--verifier DIR``).

Prints one JSON object (``--out FILE`` writes it too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serve.cache.embed import unit_rows
from serve.cache.index import make_index
from serve.cache.index.hnsw import HnswIndex

DEFAULT_QQP = Path(os.environ.get("LMROUTE_SHARED_DATA", "../shared/data")) / \
    "semantic_cache" / "qqp_pairs.jsonl"


def percentiles(us: Sequence[float]) -> dict[str, float]:
    a = np.asarray(us, dtype=np.float64)
    return {"p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99)),
            "mean_us": float(a.mean()), "n": len(a)}


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1e3)
    return out


def questions(path: Path, limit: int) -> list[str]:
    seen: dict[str, None] = {}
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            seen.setdefault(row["text_a"])
            seen.setdefault(row["text_b"])
            if len(seen) >= limit:
                break
    return list(seen)


def grow(base: np.ndarray, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """(n, d) unit vectors: ``base`` rows first, then noisy copies of random base rows."""
    if n <= len(base):
        return base[:n].copy()
    extra = base[rng.integers(0, len(base), n - len(base))]
    extra = extra + rng.normal(0, noise, extra.shape).astype(np.float32)
    return np.concatenate([base, unit_rows(extra)])


def bench_index(kind: str, vecs: np.ndarray, queries: np.ndarray, k: int,
                params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """Build one index, time single-query searches; returns (report, top-1 ids)."""
    t0 = time.time()
    ix = make_index(kind, vecs.shape[1], **({"capacity": len(vecs)} | params))
    if isinstance(ix, HnswIndex):
        ix.set_threads(max(os.cpu_count() or 1, 1))  # build in parallel
    for s in range(0, len(vecs), 50_000):
        ix.add(np.arange(s, min(s + 50_000, len(vecs))), vecs[s:s + 50_000])
    if isinstance(ix, HnswIndex):
        ix.set_threads(1)  # queries: one thread
    build = time.time() - t0
    top1 = np.array([ix.search(q, 1)[0][0] for q in queries[:200]])
    it = iter(np.tile(queries, (2, 1)))
    us = timed(lambda: ix.search(next(it), k), len(queries))
    return {"kind": kind, "build_s": round(build, 2), **percentiles(us)}, top1


def miss_path(args: argparse.Namespace, stored: list[str], held: list[str],
              entries: int = 10_000) -> dict[str, Any]:
    """The whole cache on a miss, as the gateway stage runs it: ``entries`` answers of
    one tenant stored (real questions), then lookups of other questions (exact miss,
    embedding, index search, the verifier on candidates past its gate) and the put that
    follows a miss. Two hit decisions side by side, lookups interleaved: the configured
    one (``conf/cache/semantic.yaml``: its gate and ``max_judged``) and every candidate
    judged (gate 0.5, all ``k``). Reports lookup and put times, how often the verifier
    ran, and the configured lookup's p50 over the other's."""
    from dataclasses import replace

    from serve.cache.build import build_cache
    from serve.cache.config import load_cache_conf
    from serve.cache.entry import StoredAnswer
    from serve.cache.keys import prompt_key

    conf = load_cache_conf("conf/cache/semantic.yaml")
    configured = replace(conf.decision, artifact=args.verifier)
    systems = {"configured": configured,
               "every_candidate": replace(configured, min_similarity=0.5, max_judged=0)}
    caches = {}
    ans = StoredAnswer("a stored answer", "stop", "bench")
    for name, decision in systems.items():
        conf.decision = decision
        caches[name] = cache = build_cache(conf, args.router)
        for q in stored[:entries]:
            cache.put(prompt_key(q, "bench"), ans)
    looks: dict[str, list[Any]] = {name: [] for name in caches}
    for q in held:
        for name, cache in caches.items():
            looks[name].append(cache.lookup(prompt_key(q, "bench")))
    it = iter(range(10**9))
    cache = caches["configured"]
    puts = timed(lambda: cache.put(prompt_key(f"new question {next(it)}", "bench"), ans), 500)
    out: dict[str, Any] = {"entries": entries, "lookups": len(held), "put": percentiles(puts)}
    for name, rows in looks.items():
        misses = [r for r in rows if not r.hit]
        out[name] = {"decision": caches[name].decision.describe(),  # type: ignore[union-attr]
                     "hits": len(rows) - len(misses),
                     "lookup_on_miss": percentiles([r.micros for r in misses]),
                     "verifier_ran_share": float(np.mean([r.verify_micros > 0
                                                          for r in misses])),
                     "verify_on_miss": percentiles([r.verify_micros for r in misses
                                                    if r.verify_micros > 0] or [0.0])}
    out["p50_ratio_configured_over_every_candidate"] = (
        out["configured"]["lookup_on_miss"]["p50_us"]
        / out["every_candidate"]["lookup_on_miss"]["p50_us"])
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="lmroute bench cache")
    ap.add_argument("--router", default="runs/demo/router", help="router artifact (embedder)")
    ap.add_argument("--qqp", default=str(DEFAULT_QQP), help="qqp_pairs.jsonl (real questions)")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--kinds", default="exact,hnsw")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--ef-search", type=int, default=48)
    ap.add_argument("--verifier", default="", help="verifier artifact: time it on k candidates")
    ap.add_argument("--minilm", action="store_true", help="also time MiniLM query embeddings")
    ap.add_argument("--out", default="")
    return ap.parse_args(argv)


def embed_costs(args: argparse.Namespace, texts: list[str], emb: Any) -> dict[str, Any]:
    """Single-query embedding and verifier times (one thread)."""
    it = iter(texts * 2)
    out: dict[str, Any] = {"router_embed": percentiles(timed(lambda: emb.embed([next(it)]),
                                                             min(len(texts), 2000)))}
    if args.minilm:
        from serve.cache.embed import make_embedder

        mini = make_embedder("minilm", threads=1)
        it = iter(texts * 2)
        out["minilm_embed"] = percentiles(timed(lambda: mini.embed([next(it)]), 300))
    if args.verifier:
        from serve.cache.verifier import Verifier

        v = Verifier(args.verifier)
        ids = [v.ids(t) for t in texts[:400]]
        pos = iter(range(10**9))
        out[f"verifier_{args.k}_candidates"] = percentiles(timed(
            lambda: v.score_ids(ids[next(pos) % 400], ids[:args.k]), 1000))
    return out


def main(argv: list[str]) -> int:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # one thread: numpy's BLAS would otherwise use every core
        return _main(argv)


def _main(argv: list[str]) -> int:
    from tqdm import tqdm

    from serve.cache.embed import make_embedder

    args = parse(argv)
    try:
        emb = make_embedder("router", router_dir=args.router)
        texts = questions(Path(args.qqp), 120_000)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"lmroute bench cache: error: {e}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    held, stored = texts[:args.queries], texts[args.queries:]
    base = emb.embed(stored)
    queries = unit_rows(emb.embed(held) + rng.normal(0, args.noise / 4, (len(held), emb.dim))
                        .astype(np.float32))
    report: dict[str, Any] = {"bench": "cache", "threads": 1, "k": args.k, "dim": emb.dim,
                              "vectors": "router features of QQP questions (+ noisy copies)",
                              "loadavg_start": os.getloadavg()[0], "sizes": {}}
    for n in tqdm([int(s) for s in args.sizes.split(",")], desc="sizes"):
        vecs = grow(base, n, args.noise, rng)
        rows, tops = {}, {}
        for kind in args.kinds.split(","):
            params = {"ef_search": args.ef_search} if kind == "hnsw" else {}
            rows[kind], tops[kind] = bench_index(kind, vecs, queries, args.k, params)
        if "exact" in tops and "hnsw" in tops:
            rows["hnsw"]["recall_at_1"] = float((tops["exact"] == tops["hnsw"]).mean())
        if "exact" in rows and "hnsw" in rows:
            rows["p99_ratio_hnsw_over_exact"] = rows["hnsw"]["p99_us"] / rows["exact"]["p99_us"]
        report["sizes"][str(n)] = rows
        del vecs
    report["per_lookup"] = embed_costs(args, held, emb)
    if args.verifier:
        report["cache_miss_path"] = miss_path(args, stored, held)
    report["loadavg_end"] = os.getloadavg()[0]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0
