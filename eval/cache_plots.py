"""PNG plots of ``lmroute cache eval``: the operating-point curve, traps, replay tiers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from train.cache_traps import TRAP_CATEGORIES


def plot_curve(systems: Mapping[str, Mapping[str, Any]], path: Path, limit: float = 0.02
               ) -> None:
    """Hit rate on QQP duplicates vs false-hit rate on non-duplicates, per system, with
    each system's configured operating point."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, s in systems.items():
        xs = [p["false_hit_rate"] for p in s["curve"]]
        line, = ax.plot(xs, [p["hit_rate"] for p in s["curve"]], label=name)
        ax2.plot(xs, [p["trap_false_hit_rate"] for p in s["curve"]], color=line.get_color(),
                 label=name)
        op = s.get("operating_point")
        if op and s.get("configured"):
            fx = op["qqp_non_duplicates"]["false_hit_rate"]
            ax.plot([fx], [op["qqp_duplicates"]["hit_rate"]], "o", color=line.get_color(),
                    markersize=8, label=f"{name}: configured operating point")
            ax2.plot([fx], [op["traps_all"]["false_hit_rate"]], "o", color=line.get_color(),
                     markersize=8)
    for a in (ax, ax2):
        a.axvline(limit, color="grey", ls="--", lw=1)
        a.set_xlim(0, 0.15)
        a.set_xlabel("false-hit rate on held-out QQP non-duplicates")
        a.grid(alpha=0.3)
    ax.set_ylabel("hit rate on held-out QQP duplicates")
    ax.set_ylim(0, 1)
    ax.set_title("Semantic tier: true duplicates served vs false hits")
    ax.legend(fontsize=8, loc="lower right")
    ax2.set_ylabel("false-hit rate on trap pairs")
    ax2.set_ylim(0, 1)
    ax2.axhline(0.05, color="red", ls=":", lw=1)
    ax2.set_title("Trap pairs served at the same thresholds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_traps(rows: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Per trap category false-hit rate, one bar group per system (their operating points)."""
    cats = [*TRAP_CATEGORIES, "traps_all"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(rows), 1)
    for j, (name, per) in enumerate(rows.items()):
        vals = [per[c]["false_hit_rate"] for c in cats]
        xs = [i + j * width for i in range(len(cats))]
        bars = ax.bar(xs, vals, width, label=name)
        for b, v in zip(bars, vals, strict=True):
            ax.text(b.get_x() + b.get_width() / 2, v + 0.005, f"{v:.1%}", ha="center",
                    fontsize=7)
    ax.set_xticks([i + width * (len(rows) - 1) / 2 for i in range(len(cats))], cats)
    ax.axhline(0.05, color="red", ls=":", lw=1, label="5% limit")
    ax.set_ylabel("false-hit rate (trap pairs served)")
    ax.set_title("Trap pairs: negation, swapped entities, changed numbers/dates, scope")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_replay(results: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Stacked hit rate per tier, and false hits, for each replay run."""
    names = list(results)
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(names)), 4.5))
    ex = [results[n]["hit_rate_per_tier"]["exact"] for n in names]
    se = [results[n]["hit_rate_per_tier"]["semantic"] for n in names]
    ax.bar(names, ex, label="exact tier")
    ax.bar(names, se, bottom=ex, label="semantic tier")
    for i, n in enumerate(names):
        r = results[n]
        ax.text(i, ex[i] + se[i] + 0.01,
                f"{r['hit_rate']:.1%} hits\n{sum(r['false_hits'].values())} false\n"
                f"{r['cost_saved_fraction']:.0%} cost saved", ha="center", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of requests answered from the cache")
    ax.set_title("Zipf replay: hit rate per tier")
    ax.legend(fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=15, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
