"""PNG figures of an evaluation, drawn from the metrics.json dict only.

- ``cost_quality``: single models, the zero router (their hull), the router's sweep and
  hull, the baselines' hulls and points, the 95%-of-best target line.
- ``per_task``: grouped bars of quality and mean cost per task tag.
- ``utility``: every policy's mean utility with its bootstrap interval.
- ``ope``: DM / IPS / SNIPS / DR estimates with intervals per policy (bandit logs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

COLORS = {
    "router": "#d62728",
    "knn": "#1f77b4",
    "task_prior": "#2ca02c",
    "oracle": "#9467bd",
    "random": "#7f7f7f",
    "cheapest": "#8c564b",
    "baseline_router": "#ff7f0e",
}
MAIN = ("router", "knn", "task_prior", "random", "cheapest", "oracle")


def _short(name: str) -> str:
    """Model names without the vendor prefix, for labels."""
    return name.split("/")[-1]


def _policies(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"router": m["router"], **m["baselines"]}


def _singles(ax: Any, m: dict[str, Any]) -> None:
    """Single models as labelled black squares."""
    for name, s in m["single_models"].items():
        ax.scatter(s["cost_usd"], s["quality"], marker="s", color="black", s=25, zorder=3)
        ax.annotate(
            _short(name),
            (s["cost_usd"], s["quality"]),
            fontsize=7,
            xytext=(4, -9),
            textcoords="offset points",
        )


def _points(ax: Any, pols: dict[str, dict[str, Any]]) -> None:
    """Single-operating-point policies as triangles."""
    for name in ("random", "cheapest", "baseline_router"):
        if name in pols:
            p = pols[name]
            ax.scatter(
                p["cost_usd"]["mean"],
                p["quality"]["mean"],
                marker="^",
                s=70,
                color=COLORS[name],
                label=name,
                zorder=4,
                edgecolor="black",
            )


def cost_quality(m: dict[str, Any], path: Path, title: str = "") -> Path:
    """Cost-quality plane (log cost axis)."""
    fig, ax = plt.subplots(figsize=(10, 6.5))
    _singles(ax, m)
    zero = _dense(np.array(m["zero_router"]["hull"]))
    ax.plot(zero[:, 0], zero[:, 1], "k--", lw=1, label=_aiq_label("zero router", m["zero_router"]))
    pols = _policies(m)
    for name in ("oracle", "task_prior", "knn", "router"):
        if name in pols and "hull" in pols[name]:
            _curve(ax, name, pols[name])
    _points(ax, pols)
    tgt = m["router"]["cost_at_95pct_best"]
    ax.axhline(
        tgt["target_quality"],
        color="grey",
        lw=0.8,
        ls=":",
        label=f"95% of {_short(tgt['reference_model'])}",
    )
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per request (USD, log scale)")
    ax.set_ylabel("mean quality")
    ax.set_title(title or f"Cost-quality on {m['n_requests']} held-out requests")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return _save(fig, path)


def _aiq_label(name: str, p: dict[str, Any]) -> str:
    return f"{name} (AIQ {p['aiq']:.3f})" if p.get("aiq") is not None else name


def _curve(ax: Any, name: str, p: dict[str, Any]) -> None:
    pts = np.array([[c["cost_usd"], c["quality"]] for c in p["curve"]])
    hull = _dense(np.array(p["hull"]))
    color = COLORS.get(name)
    lw = 2.2 if name == "router" else 1.3
    ax.plot(hull[:, 0], hull[:, 1], color=color, lw=lw, label=_aiq_label(f"{name} hull", p))
    ax.scatter(pts[:, 0], pts[:, 1], color=color, s=12, alpha=0.6)


def _dense(hull: np.ndarray, k: int = 25) -> np.ndarray:
    """Hull vertices (h, 2) with k points per segment, linear in cost, so the mixtures the
    hull stands for draw as their true curves on a log cost axis."""
    if len(hull) < 2:
        return hull
    segs = [np.linspace(hull[i], hull[i + 1], k, endpoint=False) for i in range(len(hull) - 1)]
    return np.vstack([*segs, hull[-1:]])


def per_task(m: dict[str, Any], path: Path) -> Path:
    """Quality and cost per task tag for the main policies and the reference model."""
    tasks = list(m["slices"])
    if not tasks:
        return path
    ref = f"fixed:{m['reference']['model']}"
    names = [n for n in (*MAIN, ref) if n == "router" or n in m["baselines"]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    width = 0.8 / len(names)
    x = np.arange(len(tasks))
    for j, name in enumerate(names):
        vals = [_policies(m["slices"][t])[name] for t in tasks]
        color = COLORS.get(name, "#bcbd22")
        label = _short(name)
        for ax, key in zip(axes, ("quality", "cost_usd"), strict=True):
            mean = np.array([v[key]["mean"] for v in vals])
            err = np.array(
                [
                    [v[key]["mean"] - v[key]["ci_low"], v[key]["ci_high"] - v[key]["mean"]]
                    for v in vals
                ]
            ).T
            ax.bar(
                x + j * width - 0.4 + width / 2,
                mean,
                width,
                yerr=err,
                color=color,
                label=label,
                capsize=2,
            )
    axes[0].set_ylabel("mean quality (95% CI)")
    axes[1].set_ylabel("mean cost per request (USD, log)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xticks(x, tasks, rotation=20)
        ax.grid(alpha=0.3, axis="y")
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("Per task tag")
    return _save(fig, path)


def utility(m: dict[str, Any], path: Path) -> Path:
    """Mean utility with its interval for every policy, best first."""
    pols = _policies(m)
    items = sorted(pols.items(), key=lambda kv: kv[1]["utility"]["mean"])
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(items) + 1.5))
    for i, (name, p) in enumerate(items):
        u = p["utility"]
        ax.errorbar(
            u["mean"],
            i,
            xerr=[[u["mean"] - u["ci_low"]], [u["ci_high"] - u["mean"]]],
            fmt="o",
            color=COLORS.get(name, "#555555"),
            capsize=3,
        )
    ax.set_yticks(range(len(items)), [_short(n) for n, _ in items], fontsize=8)
    ax.set_xlabel("mean utility (95% bootstrap CI)")
    ax.set_title("Utility under the configured weights")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def ope(m: dict[str, Any], path: Path) -> Path:
    """OPE estimates with intervals: one row per (policy, estimator)."""
    pols = dict(reversed(list({"router": m["router"], **m["baselines"]}.items())))
    est = ("dm", "ips", "snips", "dr")
    fig, ax = plt.subplots(figsize=(8, 0.9 * len(pols) + 1.5))
    for i, p in enumerate(pols.values()):
        for j, e in enumerate(est):
            v = p["ope"][e]
            err = [[v["mean"] - v["ci_low"]], [v["ci_high"] - v["mean"]]]
            ax.errorbar(
                v["mean"],
                i + (j - 1.5) * 0.18,
                xerr=err,
                fmt="os^D"[j],
                color=f"C{j}",
                capsize=2,
                label=e.upper() if i == 0 else None,
            )
    ax.axvline(m["ope"]["logged_value"], color="grey", ls=":", label="logging policy (on-policy)")
    ax.set_yticks(range(len(pols)), list(pols))
    ax.set_xlabel("estimated mean utility (95% CI)")
    ax.set_title(f"Off-policy estimates on {m['n_requests']} logged requests")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_all(m: dict[str, Any], out_dir: Path) -> list[Path]:
    """All figures that apply to this metrics dict; returns their paths."""
    if m.get("log_kind") == "bandit":
        return [ope(m, out_dir / "ope.png")]
    paths = [cost_quality(m, out_dir / "cost_quality.png"), utility(m, out_dir / "utility.png")]
    if m.get("slices"):
        paths.append(per_task(m, out_dir / "per_task.png"))
    return paths
