"""``lmroute route --router DIR "text" [options]``: route one text, print the Decision JSON.

Bad input (missing artifact, empty text, unknown model, negative or NaN weight) ends
with a one-line error on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from router_model.artifact import ArtifactError
from router_model.reward import RewardWeights


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmroute route", description=__doc__.splitlines()[0])
    p.add_argument("text", help="the prompt to route")
    p.add_argument("--router", required=True, help="artifact directory (router.onnx ...)")
    p.add_argument("--w-cost", type=float, default=0.0, help="utility weight per USD")
    p.add_argument("--w-latency", type=float, default=0.0, help="utility weight per ms")
    p.add_argument("--w-energy", type=float, default=0.0, help="utility weight per joule")
    p.add_argument("--max-latency-ms", type=float, default=math.inf)
    p.add_argument("--max-cost-usd", type=float, default=math.inf)
    p.add_argument("--allow", default="", help="comma-separated allowed models (default all)")
    p.add_argument("--epsilon", type=float, default=0.0, help="exploration rate in [0, 1]")
    p.add_argument("--int8", action="store_true", help="use router_int8.onnx")
    return p


def main(argv: list[str]) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # argparse already printed usage + a one-line error
        return 0 if e.code == 0 else 2
    try:
        from router_model.runtime import Router

        w = RewardWeights(args.w_cost, args.w_latency, args.w_energy, args.max_latency_ms,
                          args.max_cost_usd)
        allowed = [m.strip() for m in args.allow.split(",") if m.strip()] or None
        router = Router.load(args.router, int8=args.int8)
        decision = router.route(args.text, w, allowed, epsilon=args.epsilon)
    except (ArtifactError, ValueError) as e:
        print(f"lmroute route: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(decision.to_dict(), indent=2))
    return 0
