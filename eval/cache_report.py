"""``report.md`` of ``lmroute cache eval``: the tables people read first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from train.cache_traps import TRAP_CATEGORIES


def _pct(x: object) -> str:
    return "n/a" if not isinstance(x, int | float) or x != x else f"{100 * x:.1f}%"


def _row(name: str, per: dict[str, Any], latency: str = "") -> str:
    cells = [per["qqp_duplicates"]["hit_rate"], per["qqp_non_duplicates"]["false_hit_rate"],
             per["traps_all"]["false_hit_rate"],
             *(per[c]["false_hit_rate"] for c in TRAP_CATEGORIES), per["surface"]["hit_rate"]]
    return f"| {name} | " + " | ".join(_pct(c) for c in cells) + f" | {latency} |"


HEADER = ("| system | QQP duplicates served | QQP false hits | trap false hits | negation | "
          "swapped entities | numbers/dates | scope | surface edits served | lookup p50/p99 |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def pairs_table(metrics: dict[str, Any]) -> list[str]:
    lines = ["## Held-out pairs", "", HEADER]
    systems = metrics["systems"]
    ours = systems["lmroute"]
    lat = ours["lookup_latency"]
    lines.append(_row("**lmroute (configured operating point)**", ours["operating_point"],
                      f"{lat['p50_us']:.0f} / {lat['p99_us']:.0f} us"))
    for rate in ("0.02",):
        for name, s in systems.items():
            at = s["at_false_hit_rate"][rate]
            lines.append(_row(f"{name} @ {float(rate):.0%} QQP false hits (tuned on test)",
                              at["per_category"]))
    for name, s in systems.items():
        if "at_lmroute_false_hit_rate" in s:
            lines.append(_row(f"{name} @ lmroute's false-hit rate",
                              s["at_lmroute_false_hit_rate"]["per_category"]))
    n = {k: v["n"] for k, v in ours["operating_point"].items()}
    lines += ["", f"Pairs: {n}. Split: {metrics['split']}.", ""]
    return lines


def replay_table(replay: dict[str, Any]) -> list[str]:
    lines = ["## Zipf replay", "", f"Settings: {replay['conf']}", "",
             "| stream / system | hit rate | exact | semantic | false hits | cost saved | "
             "latency saved | lookup mean |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in replay.items():
        if name == "conf":
            continue
        t = r["hit_rate_per_tier"]
        lines.append(f"| {name} | {_pct(r['hit_rate'])} | {_pct(t['exact'])} | "
                     f"{_pct(t['semantic'])} | {sum(r['false_hits'].values())} | "
                     f"{_pct(r['cost_saved_fraction'])} (${r['cost_saved_usd']:.2f}) | "
                     f"{_pct(r['latency_saved_fraction'])} | {r['lookup_ms_mean']:.3f} ms |")
    return [*lines, ""]


def write_report(metrics: dict[str, Any], path: Path) -> None:
    lines = ["# Semantic cache evaluation", "",
             f"Config: `{metrics['config']}` {metrics['overrides']}; router `{metrics['router']}`.",
             "", *pairs_table(metrics)]
    if "verifier_manifest_operating_point" in metrics:
        op = metrics["verifier_manifest_operating_point"]
        lines += [f"Operating point stated in the verifier manifest (chosen on validation): "
                  f"threshold {op['threshold']:.4f}, validation QQP false hits "
                  f"{_pct(op['false_hit_rate'])}, hits {_pct(op['hit_rate'])}, traps "
                  f"{_pct(op['trap_false_hit_rate'])}.", ""]
    if "replay" in metrics:
        lines += replay_table(metrics["replay"])
    lines += ["Plots: `curve.png`, `traps.png`, `replay.png`.", ""]
    path.write_text("\n".join(lines))
