"""``lmroute``: one console script, one subcommand per stage of the loop.

    lmroute data {convert,validate,split,simulate,synth,summary} ...
    lmroute train [hydra overrides]        train + export a router (Hydra, MLflow)
    lmroute route --router DIR "text"      route one text, print the decision as JSON
    lmroute eval [hydra overrides]         evaluate a router on held-out logs
    lmroute serve [hydra overrides]        OpenAI-compatible gateway
    lmroute loop --logs DIR --current DIR --out DIR   retrain on gateway logs, gate, export
    lmroute guard {train,scan,eval} ...    guardrails (prompt injection, harmful, PII)
    lmroute memory {build,context,eval,...} ...   conversation memory
    lmroute cache {pairs,eval} ...         semantic cache
    lmroute verifier train router=DIR out_dir=DIR   the cascade's verifier (lmroute/verified)
    lmroute bench {data,train,router,gateway} ...

Each subcommand lives in its package (``<pkg>/cli.py``, ``main(argv) -> int``) and is
imported lazily so ``lmroute data`` does not pay for torch.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data.cli", "Convert, validate, split and simulate logs"),
    "train": ("train.cli", "Train and export a router (Hydra overrides)"),
    "route": ("router_model.cli", "Route one text with an exported router"),
    "eval": ("eval.cli", "Evaluate a router on held-out logs (Hydra overrides)"),
    "serve": ("serve.cli", "Run the OpenAI-compatible gateway (Hydra overrides)"),
    "loop": ("train.loop_cli", "One pass of the learning loop: gateway logs -> retrain -> gate"),
    "guard": ("router_model.guard.cli", "Guardrails: train, scan, eval"),
    "memory": ("serve.memory.cli", "Conversation memory: build, context, eval, erase"),
    "cache": ("serve.cache.cli", "Semantic cache: pairs, eval"),
    "verifier": ("router_model.verifier_cli", "The cascade's answer verifier: train"),
    "bench": ("lmroute_bench", "Benchmarks: data, train, router, gateway (print JSON)"),
}


def _usage() -> str:
    lines = ["usage: lmroute COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"lmroute: unknown command {cmd!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[cmd][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
