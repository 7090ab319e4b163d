"""Report sections of the suite's RouterBench studies: the cascade and the onboarding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from eval.report import Block
from eval.suite.run import SuiteResult


def cascade_blocks(res: SuiteResult) -> list[Block]:
    """Verifier AUC / precision / recall and the cascade's cheapest point at 95%."""
    if not res.cascade:
        return []
    rows = []
    for c in res.cascade:
        c = dict(c)
        p: dict[str, Any] = c.get("point") or {}  # type: ignore[assignment]
        rows.append([str(c["split"]), f"{c['auc']:.3f}", f"{c['precision']:.3f}",
                     f"{c['recall']:.3f}",
                     "never" if not p else f"w1={p['w1']:.3g}, tau={p['tau']}",
                     "n/a" if not p else f"{100 * p['escalation_rate']:.1f}%",
                     "never" if not p else f"{100 * p['cost_fraction']:.1f}%"])
    return [Block("h2", "routerbench: cascade with a learned verifier"),
            Block("p", "The verifier scores (prompt, answer, model) on the split's test "
                  "answers of every model (AUC; precision and recall of 'correct' at 0.5). "
                  "The point: the cheapest single (w1, tau) operating point reaching 95% "
                  "of gpt-4's quality (its escalation rate and cost as a fraction of gpt-4's "
                  "cost, both calls paid). The cascade's AIQ and hull cost are in the "
                  "routerbench/all table above (method `cascade`)."),
            Block("table", header=["split", "verifier AUC", "precision@0.5", "recall@0.5",
                                   "point at 95%", "escalation", "cost (both calls)"],
                  rows=rows)]


def agree_blocks(res: SuiteResult) -> list[Block]:
    """The agreement cascade's pair (chosen on each split's fit rows) and its statistics."""
    if not res.cascade_agree:
        return []
    rows = [[str(c["split"]), " + ".join(str(m) for m in c["pair"]),  # type: ignore[attr-defined]
             f"{100 * float(c['agreement']):.1f}%",  # type: ignore[arg-type]
             _f(c["precision_when_agree"]),
             f"{100 * float(c['pair_cost_fraction']):.1f}%"]  # type: ignore[arg-type]
            for c in res.cascade_agree]
    return [Block("h2", "routerbench: agreement cascade"),
            Block("p", "Two models answer; when their answers' keys agree the first one's "
                  "answer is served (both paid), else the router's pick at each sweep "
                  "weight answers too (`eval/suite/cascade_agree.py`). The pair is chosen "
                  "on the split's train + validation requests. Its AIQ and hull cost are in "
                  "the routerbench/all table (method `cascade_agree`)."),
            Block("table", header=["split", "pair (answer, check)", "agreement on test",
                                   "accuracy when they agree", "pair cost / gpt-4"],
                  rows=rows)]


def onboard_frame(res: SuiteResult) -> pd.DataFrame:
    return pd.DataFrame(res.onboard)


def onboard_plot(df: pd.DataFrame, path: Path, model: str) -> Path:
    """AIQ and AUC of the new model against N (mean and range over splits x draws)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ref = df[df["method"] == "full_retrain"]
    for ax, col in zip(axes, ("aiq", "auc"), strict=True):
        for name, g in df[df["method"] != "full_retrain"].groupby("method"):
            agg = g.groupby("n")[col].agg(["mean", "min", "max"])
            ax.plot(agg.index, agg["mean"], marker="o", label=name)
            ax.fill_between(agg.index, agg["min"], agg["max"], alpha=0.15)
        ax.axhline(float(ref[col].mean()), ls="--", c="k", label="retrained, all labels")
        ax.set_xscale("log")
        ax.set_xlabel("N labelled queries of the new model")
        ax.set_ylabel(col)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"onboarding {model.split('/')[-1]}: routing AIQ")
    axes[1].set_title("AUC of its predicted correctness")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def onboard_blocks(res: SuiteResult, out_dir: Path) -> list[Block]:
    if not res.onboard:
        return []
    df = onboard_frame(res)
    model = res.settings.onboard_model
    png = onboard_plot(df, out_dir / "routerbench_onboarding.png", model)
    agg = df.groupby(["method", "n"])[["aiq", "auc"]].mean().reset_index()
    rows = [[str(r.method), str(r.n), f"{float(r.aiq):.4f}", _f(r.auc)]  # type: ignore[arg-type]
            for r in agg.itertuples()]
    return [Block("h2", f"routerbench: onboarding {model} with N labelled queries"),
            Block("p", "The router is trained without the new model; N of its labelled "
                  "queries fit a head on the router's predicted-quality logits "
                  "(head_on_router), against the N labels' mean (prior), a logistic "
                  "regression on the static features (scratch) and the router retrained "
                  "with all labels (full_retrain). Means over splits x 3 draws."),
            Block("table", header=["method", "N", "AIQ (all models)", "AUC (new model)"],
                  rows=rows), Block("img", str(png))]


def _f(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"
