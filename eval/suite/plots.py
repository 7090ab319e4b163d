"""PNG figures of the suite: cost-quality curves (split 0) and the headline figure of
every method per dataset with its interval over splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from eval import curves as cv

FIXED = {"router": "#d62728", "oracle": "#9467bd", "task_prior": "#2ca02c",
         "knn_shrunk": "#1f77b4", "logistic": "#ff7f0e", "zero_router": "#7f7f7f",
         "cascade": "#17becf", "cascade_agree": "#bcbd22", "router_blend": "#e377c2"}
# the other methods (variants, mlp_minilm, ...): colours no fixed method uses, by name
OTHERS = ("#8c564b", "#000080", "#808000", "#008080", "#ff1493", "#a0522d", "#4b0082",
          "#2f4f4f", "#b8860b", "#006400")


def palette(names: list[str]) -> dict[str, str]:
    """A colour per method of one plot: the fixed ones, then ``OTHERS`` in sorted-name
    order, so no two methods share a colour (up to len(OTHERS) unnamed methods) and the
    same set of methods gets the same colours in every plot of a report."""
    rest = sorted(n for n in set(names) if n not in FIXED)
    return {**{n: FIXED[n] for n in names if n in FIXED},
            **{n: OTHERS[i % len(OTHERS)] for i, n in enumerate(rest)}}


def cost_quality(points: dict[str, list[list[float]]], title: str, path: Path) -> Path:
    """Hull of every method's sweep (mean cost, quality) on split 0, single models as dots."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    singles = np.array(points["single_models"])
    ax.scatter(singles[:, 0], singles[:, 1], c="k", s=18, label="single models", zorder=3)
    colors = palette([n for n in points if n != "single_models"])
    for name, pts in points.items():
        if name == "single_models":
            continue
        p = np.array(pts)
        hull = cv.nondecreasing_hull(p[:, 0], p[:, 1])
        lw = 2.4 if name.startswith("router") else 1.3
        ls = "--" if name.startswith("router_") else "-"  # variants dashed beside the router
        ax.plot(hull[:, 0], hull[:, 1], marker=".", lw=lw, ls=ls, label=name,
                color=colors[name])
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per request (USD, log)")
    ax.set_ylabel("mean quality")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def figure_bars(figs: dict[str, dict[str, Any]], fig_name: str, title: str,
                path: Path) -> Path:
    """Mean over splits with its interval, one bar per method (oracle left out)."""
    names = [m for m in figs if m != "oracle" and figs[m]["mean"] is not None]
    means = np.array([figs[m]["mean"] for m in names])
    lo = np.array([figs[m]["ci_low"] if figs[m]["ci_low"] is not None else np.nan
                   for m in names])
    hi = np.array([figs[m]["ci_high"] if figs[m]["ci_high"] is not None else np.nan
                   for m in names])
    fig, ax = plt.subplots(figsize=(7.5, 4))
    err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
    colors = palette(names)
    ax.bar(range(len(names)), means, yerr=err, capsize=3, color=[colors[n] for n in names])
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    finite = means[np.isfinite(means)]
    if len(finite):
        span = finite.max() - finite.min()
        ax.set_ylim(finite.min() - max(span, 0.01), finite.max() + max(span, 0.01) * 0.6)
    ax.set_ylabel(fig_name)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
