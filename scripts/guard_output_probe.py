"""Real model answers through the guard's two possible output checks, at a preset.

Answers: ``--per-model`` answers of every model in each RouterBench file
(``<model>|model_response``; code for MBPP, short answers for ARC and Winogrande),
sampled with a fixed seed. Each goes through

- ``full_check``: ``Guard.check`` (rules, secrets, the learned classifier and tagger),
  what the gateway ran on non-streamed answers before stop 28;
- ``output_filter``: ``stream.filter_text`` (rules, secrets, blocked phrases), what it
  runs on streamed answers, and now on non-streamed ones too;
- ``full_check`` on the answer as a tool call's arguments (``{"code": answer}``), what
  ``tools.check_tool_call`` ran before stop 28 (now rules and secrets only).

``python -m scripts.guard_output_probe runs/guard/v11`` prints JSON: per file, how many
answers each check blocks, the blocking categories, and the answers redacted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

import pandas as pd
from tqdm import tqdm

from data.locate import SharedDataMissing, find_shared_data
from router_model.guard.artifact import ArtifactError
from router_model.guard.policy import PRESETS, GuardPolicy
from router_model.guard.runtime import Guard
from router_model.guard.stream import filter_text

FILES = ("arc_challenge_train", "mbpp_train", "winograde_train")
SUFFIX = "|model_response"


def answers(per_model: int, seed: int = 0) -> dict[str, list[str]]:
    """File -> sampled answers of every model in it."""
    root = find_shared_data("routerbench") / "routerbench"
    out: dict[str, list[str]] = {}
    for name in FILES:
        df = pd.read_csv(root / f"{name}.csv")
        cols = [c for c in df.columns if c.endswith(SUFFIX)]
        out[name] = [t for c in cols for t in df[c].dropna().astype(str)
                     .sample(min(per_model, len(df)), random_state=seed)]
    return out


def probe(guard: Guard, texts: list[str], policy: GuardPolicy) -> dict[str, Any]:
    """Blocks and redactions of both output checks over ``texts``."""
    cats: Counter[str] = Counter()
    full = filt = redacted = as_args = 0
    for t in tqdm(texts, unit="answer", file=sys.stderr, mininterval=2.0):
        d = guard.check(t, policy)
        if d.blocked:
            full += 1
            cats.update(c for c in d.categories if d.actions.get(c) == "block")
        as_args += guard.check(json.dumps({"code": t}), policy).blocked
        r = filter_text(t, policy)
        filt += r.stopped
        redacted += not r.stopped and r.text != t
    n = len(texts)
    return {"answers": n, "full_check_blocked": full,
            "full_check_blocked_share": round(full / max(n, 1), 4),
            "full_check_block_categories": dict(cats),
            "full_check_blocked_as_tool_arguments": as_args, "output_filter_blocked": filt,
            "output_filter_redacted": redacted}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.guard_output_probe",
                                description=__doc__.splitlines()[0])
    p.add_argument("artifact")
    p.add_argument("--per-model", type=int, default=150)
    p.add_argument("--preset", default="balanced", choices=sorted(PRESETS))
    args = p.parse_args(argv)
    try:
        guard = Guard.load(args.artifact)
        texts = answers(args.per_model)
    except (ArtifactError, SharedDataMissing) as e:
        sys.stderr.write(f"guard_output_probe: {e}\n")
        return 2
    pol = PRESETS[args.preset]
    out = {"artifact": args.artifact, "preset": args.preset, "per_model": args.per_model,
           "files": {name: probe(guard, t, pol) for name, t in texts.items()}}
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
