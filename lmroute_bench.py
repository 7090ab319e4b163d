"""``lmroute bench TARGET``: dispatch to each package's benchmark (prints JSON)."""

from __future__ import annotations

import importlib
import sys

TARGETS: dict[str, str] = {
    "data": "data.bench",
    "train": "train.bench",
    "router": "router_model.bench",
    "gateway": "serve.bench.cli",
    "guard": "router_model.guard.bench",
    "cache": "serve.cache.bench",
    "memory": "serve.memory.bench",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TARGETS:
        print(f"usage: lmroute bench {{{','.join(TARGETS)}}} [ARGS...]", file=sys.stderr)
        return 2
    return int(importlib.import_module(TARGETS[argv[0]]).main(argv[1:]) or 0)
