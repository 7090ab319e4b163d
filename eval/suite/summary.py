"""The suite's figures as a JSON-ready summary: per dataset, group, figure and method the
mean over splits with its interval, and the router's paired differences to every other
method on the headline figures."""

from __future__ import annotations

import math
from typing import Any

from eval.suite.aggregate import over_splits, paired_diff
from eval.suite.run import SuiteResult

# figures reported per dataset group, headline first (higher is better except cost / cpt)
FIGURES = {
    "routerbench/all": ("aiq", "gap_closed", "cost_at_95", "accuracy"),
    "routellm/mmlu": ("apgr", "cpt50", "cpt80"),
    "routellm/gsm8k": ("apgr", "cpt50", "cpt80"),
    "dcrouter/all": ("accuracy", "aiq", "gap_closed", "cost_at_95"),
}
DIFF_FIGURES = ("aiq", "apgr", "accuracy", "gap_closed")
ROUTER = "router"


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def summarize(res: SuiteResult, alpha: float = 0.05) -> dict[str, Any]:
    """{"<dataset>/<group>": {"figures": {fig: {method: Summary}}, "diffs": {fig:
    {router_variant: {baseline: Summary}}}}} plus the settings and dataset facts."""
    out: dict[str, Any] = {}
    for ds, groups in res.figures.items():
        for g, figs in groups.items():
            key = f"{ds}/{g}"
            block: dict[str, Any] = {"figures": {}, "diffs": {}}
            for fig, meths in figs.items():
                block["figures"][fig] = {m: over_splits(v, alpha).to_dict()
                                         for m, v in meths.items()}
                if fig in DIFF_FIGURES:
                    block["diffs"][fig] = _diffs(meths, alpha)
            out[key] = block
    s = res.settings
    return _clean({"settings": {k: str(v) if k == "shared" else v
                                for k, v in vars(s).items()},
                   "datasets": res.facts, "results": out})


def _diffs(meths: dict[str, list], alpha: float) -> dict[str, dict[str, Any]]:
    routers = [m for m in meths if m.startswith(ROUTER) or m.startswith("cascade")]
    return {r: {b: paired_diff(meths[r], meths[b], alpha).to_dict()
                for b in meths if b != r} for r in routers}


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The few numbers the CLI prints: the router's headline figure per dataset group
    against the strongest other method, with intervals."""
    out = {}
    for key, figs in FIGURES.items():
        block = summary["results"].get(key)
        if block is None:
            continue
        fig = figs[0]
        vals = block["figures"].get(fig, {})
        if ROUTER not in vals:
            continue
        others = {m: v["mean"] for m, v in vals.items()
                  if not m.startswith(ROUTER) and m != "oracle" and v["mean"] is not None}
        best = max(others, key=lambda m: others[m]) if others else None
        out[key] = {"figure": fig, "router": vals[ROUTER],
                    "best_baseline": best, "baseline": vals.get(best) if best else None,
                    "router_minus_best": block["diffs"].get(fig, {}).get(ROUTER, {}).get(best)}
    return out
