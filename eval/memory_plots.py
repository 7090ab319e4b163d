"""Plots of ``lmroute memory eval``: recall against budget per method, and recall per
question category at each budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _methods(recall: dict[str, Any]) -> list[str]:
    return [m for m in recall if m != "full"]


def plot_budget(metrics: dict[str, Any], path: Path) -> None:
    recall = metrics["recall"]
    fig, ax = plt.subplots(figsize=(8, 5))
    for m in _methods(recall):
        budgets = sorted(int(b) for b in recall[m])
        ys = [recall[m][str(b)]["all"] for b in budgets]
        style = "-o" if m.startswith("memory:") and "[" not in m else "--s"
        ax.plot(budgets, ys, style, label=m)
    if "full" in recall:
        full = recall["full"]["0"]
        ax.axhline(full["all"], color="grey", ls=":",
                   label=f"full history (~{full['mean_tokens']:.0f} tokens)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context budget (tokens)")
    ax.set_ylabel("answer-word recall")
    ax.set_title("LoCoMo: answer words kept in the context (categories 1-4)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_categories(metrics: dict[str, Any], budget: int, path: Path) -> None:
    recall = metrics["recall"]
    methods = [m for m in _methods(recall) if str(budget) in recall[m] and "[" not in m]
    cats = list(next(iter(recall[methods[0]].values()))["by_category"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        by = recall[m][str(budget)]["by_category"]
        ax.bar([i + k * width for i in range(len(cats))], [by.get(c, 0) for c in cats],
               width, label=m)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cats))], cats)
    ax.set_ylabel("answer-word recall")
    ax.set_title(f"Recall per question category at {budget} tokens")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_all(metrics: dict[str, Any], out: Path) -> list[str]:
    paths = [out / "recall_vs_budget.png"]
    plot_budget(metrics, paths[0])
    for b in metrics["budgets"]:
        p = out / f"recall_by_category_{b}.png"
        plot_categories(metrics, b, p)
        paths.append(p)
    return [str(p) for p in paths]
