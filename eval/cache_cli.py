"""``lmroute cache eval``: thin argument parsing around ``eval.cache_eval``.

    lmroute cache eval --config conf/cache/semantic.yaml --out runs/cache/eval
        [--router runs/demo/router] [--baseline FILE ...] [--set key=value ...]
        [--requests 20000] [--zipf 1.0] [--paraphrase-rate 0.5] [--sources a,b,c]
        [--max-test-pairs N] [--traps N] [--shared DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.cache_eval import EvalConf, run_cache_eval
from eval.cache_replay import ReplayConf


def parse(argv: list[str]) -> EvalConf:
    ap = argparse.ArgumentParser(prog="lmroute cache eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="the cache config to evaluate")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--router", default="runs/demo/router", help="router artifact (embedder)")
    ap.add_argument("--baseline", action="append", default=None,
                    help="baseline cache config(s); default: MiniLM and router cosine")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--requests", type=int, default=20_000, help="replay length (0 = none)")
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--paraphrase-rate", type=float, default=0.5)
    ap.add_argument("--sources", default="routerbench,routellm,llmrouter")
    ap.add_argument("--max-test-pairs", type=int, default=0)
    ap.add_argument("--traps", type=int, default=0, help="trap pairs per category")
    ap.add_argument("--shared", default=None, help="the shared data directory")
    a = ap.parse_args(argv)
    conf = EvalConf(a.config, Path(a.out), a.router, overrides=a.set,
                    max_test_pairs=a.max_test_pairs, traps_per_category=a.traps,
                    replay=ReplayConf(requests=a.requests, zipf_s=a.zipf,
                                      paraphrase_rate=a.paraphrase_rate),
                    replay_sources=[s for s in a.sources.split(",") if s])
    if a.baseline is not None:
        conf.baselines = a.baseline
    if a.shared:
        conf.shared = Path(a.shared)
    return conf


def main(argv: list[str]) -> int:
    conf = parse(argv)
    try:
        metrics = run_cache_eval(conf)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"lmroute cache eval: error: {e}", file=sys.stderr)
        return 2
    ours = metrics["systems"]["lmroute"]["operating_point"]
    print(json.dumps({"out_dir": str(conf.out_dir), "lmroute_operating_point": ours},
                     indent=2))
    return 0
