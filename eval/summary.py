"""The few lines ``make demo`` prints: router vs baselines from a metrics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHOWN = ("knn", "task_prior", "cheapest", "random", "oracle")


def _pct(x: float | None) -> str:
    return "never" if x is None else f"{100 * x:.1f}%"


def _line(name: str, p: dict[str, Any]) -> str:
    at = p.get("cost_at_95pct_best", {}).get("fraction")
    aiq = p.get("aiq")
    return (
        f"  {name:<12} quality {p['quality']['mean']:.3f}  cost ${p['cost_usd']['mean']:.2e}"
        f"  AIQ {'  n/a' if aiq is None else f'{aiq:.3f}'}"
        f"  cost@95%best {_pct(at) if 'cost_at_95pct_best' in p else 'n/a'}"
    )


def summary_text(metrics: dict[str, Any] | str | Path) -> str:
    """Short text: router vs baselines (AIQ, cost at 95% of the best model's quality,
    decision latency) for a full-information evaluation, or the OPE line for a bandit one."""
    m = metrics if isinstance(metrics, dict) else json.loads(Path(metrics).read_text())
    if m.get("log_kind") == "bandit":
        o = m["ope"]
        return (
            f"OPE on {m['n_requests']} logged requests: DR {o['dr']['mean']:.4f} "
            f"[{o['dr']['ci_low']:.4f}, {o['dr']['ci_high']:.4f}], IPS {o['ips']['mean']:.4f}"
            f", SNIPS {o['snips']['mean']:.4f}, DM {o['dm']['mean']:.4f}, ESS {o['ess']:.0f}"
            f" (logging policy {o['logged_value']:.4f})"
        )
    r, ref = m["router"], m["reference"]
    lines = [
        f"Evaluation on {m['n_requests']} held-out requests; best single model "
        f"{ref['model']} (quality {ref['quality']:.3f}, ${ref['cost_usd']:.2e}/request); "
        f"zero-router AIQ {m['zero_router']['aiq']:.3f}",
        _line("router", r),
    ]
    lines += [_line(n, m["baselines"][n]) for n in SHOWN if n in m["baselines"]]
    diffs = r.get("aiq_diff") or {}
    if diffs:
        parts = [
            f"{n} {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
            for n, d in diffs.items()
            if n != "oracle" and d.get("ci_low") is not None
        ]
        lines.append("  router AIQ minus (paired 95% CI): " + "; ".join(parts))
    lat = r.get("decision_us")
    if lat:
        lines.append(f"  decision latency p50 {lat['p50']:.0f} us, p99 {lat['p99']:.0f} us")
    if "gate" in m:
        lines.append(f"  gate: {m['gate']['reason']}")
    return "\n".join(lines)
