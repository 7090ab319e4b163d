"""``lmroute guard {train,scan,eval} ...``: guardrails against prompt injection,
jailbreaks, harmful requests, PII and secrets.

    lmroute guard train [hydra overrides]            train + export (conf/guard_train.yaml)
    lmroute guard scan --guard DIR IN.jsonl [--out OUT.jsonl]
    lmroute guard eval --guard DIR [--out DIR] ...   held-out report vs the TF-IDF baseline

Each subcommand is imported lazily (``scan`` does not pay for torch).
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {"train": "train.guard_cli", "scan": "router_model.guard.scan",
               "eval": "eval.guard_cli"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] not in SUBCOMMANDS:
        print(f"lmroute guard: unknown subcommand {argv[0]!r}; expected one of "
              f"{', '.join(SUBCOMMANDS)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:]) or 0)
