"""Markdown tables from ``lmroute bench gateway`` JSON files (what docs/benchmarks.md and
the README quote), so no figure is typed by hand::

    python -m serve.bench.markdown runs/bench/gateway.json [more.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("p50_ms", "p99_ms", "throughput_rps", "n_errors", "added_p50_ms", "added_p99_ms")
HEADER = ("| C | system | p50 ms | p99 ms | throughput rps | errors | added p50 ms "
          "| added p99 ms | added p50 per round ms |")


def table(report: dict[str, Any]) -> str:
    """One run: a caption line, one row per (level, system), the ratio line."""
    m = report["meta"]
    lm = m.get("lmroute") or {}
    how = (f"lmroute routed by {lm.get('router')}" if lm.get("routed")
           else f"lmroute not routed ({lm.get('model')})") if lm else "lmroute not run"
    lines = [f"`{m['created_utc']}`, load average {m['loadavg_start'][0]} -> "
             f"{m.get('loadavg_end', ['?'])[0]}, {m['requests_per_level']} requests + "
             f"{m['warmup_per_level']} warm-up per level and system in "
             f"{m.get('rounds_per_level', 1)} interleaved round(s), {how}; LiteLLM "
             f"{(m.get('litellm') or {}).get('version', 'not run')}:", "",
             HEADER, "|" + " --- |" * 9]
    for lvl in report["levels"]:
        for name, s in lvl["systems"].items():
            cells = [str(s.get(c, "-")) for c in COLUMNS]
            rounds = s.get("added_p50_ms_per_round")
            cells.append(", ".join(f"{x:.2f}" for x in rounds) if rounds else "-")
            lines.append(f"| {lvl['concurrency']} | {name} | " + " | ".join(cells) + " |")
    ratios = [f"C={lvl['concurrency']}: **{lvl['ratio_added_p50_lmroute_over_litellm']}**"
              for lvl in report["levels"] if "ratio_added_p50_lmroute_over_litellm" in lvl]
    if ratios:
        lines += ["", "lmroute_added_p50 / litellm_added_p50: " + ", ".join(ratios)]
    diffs = [f"C={lvl['concurrency']}: **{lvl['variant_minus_lmroute']['median_per_round_ms']}**"
             for lvl in report["levels"] if "variant_minus_lmroute" in lvl]
    if diffs:
        variant = " ".join((m.get("lmroute_b") or {}).get("variant", []))
        lines += ["", f"lmroute_b ({variant}) minus lmroute, added p50, median of the paired "
                  "per-round differences, ms: " + ", ".join(diffs)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m serve.bench.markdown RUN.json [RUN.json ...]", file=sys.stderr)
        return 2
    for p in paths:
        try:
            report = json.loads(p.read_text())
            text = table(report)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"{p}: not a `lmroute bench gateway` JSON file ({exc!r})", file=sys.stderr)
            return 1
        print(f"`{p}`, {text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
