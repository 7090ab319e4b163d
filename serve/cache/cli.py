"""``lmroute cache {train,pairs,eval}``: the semantic cache's commands.

    lmroute cache train [hydra overrides]                       the hit verifier (Hydra, MLflow)
    lmroute cache pairs --config FILE IN.jsonl [--out OUT.jsonl] [--set key=value ...]
    lmroute cache eval --config FILE --out DIR [options]        hit / false-hit report + replay

Bad input ends with one line naming the file, line and field, and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

USAGE = __doc__.split("\n\n")[1]


def _pairs(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="lmroute cache pairs",
                                 description="Store a, look b up, for each pair of IN.jsonl.")
    ap.add_argument("--config", required=True, help="a cache YAML (e.g. conf/cache/semantic.yaml)")
    ap.add_argument("input", metavar="IN.jsonl", help='lines {"id", "a", "b"}')
    ap.add_argument("--out", metavar="OUT.jsonl", help="default: stdout")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field (repeatable), e.g. decision.threshold=0.9")
    args = ap.parse_args(argv)
    from serve.cache.build import DEFAULT_ROUTER, build_cache
    from serve.cache.config import load_cache_conf
    from serve.cache.pairs import read_pairs, run_pairs

    try:
        conf = load_cache_conf(args.config, args.set)
        pairs = read_pairs(args.input)
        cache = build_cache(conf, DEFAULT_ROUTER)
    except (ValueError, RuntimeError) as e:
        print(f"lmroute cache pairs: error: {e}", file=sys.stderr)
        return 2
    out = open(args.out, "w") if args.out else sys.stdout  # noqa: SIM115
    try:
        for row in run_pairs(cache, pairs, conf.casefold):
            out.write(row.to_json() + "\n")
    finally:
        if args.out:
            out.close()
        cache.store.close()
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "train":
        from train.cache_cli import main as train_main

        return train_main(rest)
    if cmd == "pairs":
        return _pairs(rest)
    if cmd == "eval":
        from eval.cache_cli import main as eval_main

        return eval_main(rest)
    print(f"lmroute cache: unknown command {cmd!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
