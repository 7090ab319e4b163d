"""PNG figures of a guard evaluation, drawn from its metrics dict (and raw scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from train.guard_calibrate import BENIGN
from train.guard_data import CATEGORIES


def _curves(scores: np.ndarray, labels: np.ndarray, src: np.ndarray, j: int
            ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """source -> (positives' scores, pooled benign negatives' scores) for category j."""
    neg = scores[np.isin(src, BENIGN) & (labels[:, j] == 0), j]
    out = {}
    for s in sorted(set(src[labels[:, j] == 1])):
        out[s] = (scores[(src == s) & (labels[:, j] == 1), j], neg)
    return out


def roc_pr(m: dict[str, Any], category: str, path: Path) -> Path:
    """ROC (log FPR) and precision-recall per source: guard solid, baseline dashed."""
    raw = m["_scores"]
    labels, src = np.array(raw["labels"]), np.array(raw["sources"])
    j = CATEGORIES.index(category)
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5))
    cmap = plt.get_cmap("tab10")
    for name, style in (("guard", "-"), ("baseline", "--")):
        if raw.get(name) is None:
            continue
        for k, (s, (pos, neg)) in enumerate(_curves(np.array(raw[name]), labels, src, j).items()):
            y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            sc = np.r_[pos, neg]
            f, t, _ = roc_curve(y, sc)
            p, r, _ = precision_recall_curve(y, sc)
            lab = f"{s} ({name})"
            a.plot(np.maximum(f, 1e-4), t, style, color=cmap(k % 10), label=lab, lw=1.4)
            b.plot(r, p, style, color=cmap(k % 10), label=lab, lw=1.4)
    a.axvline(0.01, color="grey", lw=0.8, ls=":")
    a.set(xscale="log", xlim=(1e-4, 1), ylim=(0, 1.02), xlabel="false-positive rate "
          "(pooled benign, log)", ylabel="recall", title=f"{category}: ROC per source")
    b.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
          title=f"{category}: precision-recall per source")
    a.legend(fontsize=7, loc="lower right")
    b.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def pii_bars(m: dict[str, Any], path: Path) -> Path:
    """Span F2 per entity type: guard, and Presidio's patterns where comparable. Two
    totals: ``ALL`` (every type; Presidio scored on all of them too) and ``ALL comparable``
    (only the types Presidio's patterns cover, for both)."""
    g = m["pii"]["guard"]
    pr = m["pii"].get("presidio") or {}
    pres = pr.get("scores", {}) if pr.get("available", True) else {}
    types = [t for t in sorted(g) if t != "ALL"] + ["ALL", "ALL comparable"]
    ours = [g[t]["f2"] for t in types[:-1]]
    ours.append(m["pii"].get("guard_comparable", {}).get("ALL", {}).get("f2", np.nan))
    x = np.arange(len(types))
    fig, ax = plt.subplots(figsize=(13, 4.5))
    ax.bar(x - 0.2, ours, 0.4, label="lmroute guard")
    if pres:
        theirs = [pres.get(t, {}).get("f2", np.nan) if t != "ALL" else np.nan
                  for t in types[:-1]]
        theirs[types.index("ALL")] = pr.get("all_types", {}).get("f2", np.nan)
        theirs.append(pres.get("ALL", {}).get("f2", np.nan))
        ax.bar(x + 0.2, theirs, 0.4, label="Presidio patterns (blank spaCy, no NER model)")
    ax.set_xticks(x, types, rotation=45, ha="right", fontsize=8)
    ax.axhline(0.85, color="grey", lw=0.8, ls=":")
    ax.set(ylim=(0, 1.05), ylabel="span F2 (same type, IoU >= 0.5)",
           title=f"PII on held-out Presidio templates ({m['pii']['n_texts']} texts)")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_all(m: dict[str, Any], out_dir: Path) -> list[Path]:
    out = [roc_pr(m, c, out_dir / f"roc_pr_{c}.png") for c in CATEGORIES]
    return [*out, pii_bars(m, out_dir / "pii_f2.png")]
