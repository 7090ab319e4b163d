"""Hard-benign over-refusal of guard artifacts on the written templates of one split,
apart for the first ``N_OLD`` templates (the set before artifact v9) and the ones added
since, so artifacts trained with different template sets can be compared on the same
texts (docs/guard.md, "Artifact v9").

``python -m eval.guard_hard_benign runs/guard/v8 runs/guard/v9 [--split test] [--out F]``
prints (and writes) JSON: artifact -> part (``old``, ``new``, ``all``) -> the
evaluation's figures (``eval.guard_eval.over_refusal``: per kind of trigger words the
share flagged by its own category at the balanced threshold, and by any category).
Reads the written templates only (no shared data); the split is the artifact's
manifest (``data``: val, test, split_seed).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from router_model.guard.runtime import Guard
from train.guard_data import CATEGORIES, assign_split
from train.guard_written_benign import expand
from train.guard_written_benign_more import ALL_TEMPLATES

log = logging.getLogger(__name__)
N_OLD = 124  # templates in train/guard_written_benign.py (artifacts up to v8)


def split_texts(split: str, val: float, test: float, seed: int) -> list[tuple[int, str, str]]:
    """(template index, kind, text) of every written hard benign text in ``split``."""
    return [(i, t.kind, text) for i, t in enumerate(ALL_TEMPLATES)
            if assign_split("hard_benign", f"{t.kind}:{i}", val, test, seed) == split
            for text in expand(t)]


def rates(scores: np.ndarray, kinds: list[str], th: dict[str, float]) -> dict[str, Any]:
    """The evaluation's over-refusal figures for these rows."""
    flags = np.stack([scores[:, j] >= th[c] for j, c in enumerate(CATEGORIES)], 1)
    out: dict[str, Any] = {}
    for j, c in enumerate(CATEGORIES):
        own = np.array([k == c for k in kinds])
        out[f"{c}_words"] = {"n": int(own.sum()), "flagged_by_own_category":
                             float(flags[own, j].mean()) if own.any() else float("nan")}
    out["any_category"] = {"n": len(kinds), "flagged": float(flags.any(1).mean())}
    return out


def compare(guard_dir: Path, split: str) -> dict[str, Any]:
    guard = Guard.load(guard_dir)
    data = json.loads((guard_dir / "manifest.json").read_text())["data"]
    rows = split_texts(split, data["val"], data["test"], data["split_seed"])
    scores = np.array([[guard.analyze(text)[0][c] for c in CATEGORIES] for _, _, text in rows])
    th = {c: guard.threshold(c, "balanced") for c in CATEGORIES}
    parts = {"old": [r[0] < N_OLD for r in rows], "new": [r[0] >= N_OLD for r in rows],
             "all": [True] * len(rows)}
    out: dict[str, Any] = {"thresholds": th}
    for name, keep in parts.items():
        m = np.array(keep)
        out[name] = rates(scores[m], [r[1] for r, k in zip(rows, keep, strict=True) if k], th)
    flagged = [(text, *np.round(scores[i], 3).tolist()) for i, (_, _, text) in enumerate(rows)
               if any(scores[i, j] >= th[c] for j, c in enumerate(CATEGORIES))]
    out["flagged"] = flagged
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("guards", nargs="+", type=Path)
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    result = {str(g): compare(g, a.split) for g in a.guards}
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if a.out:
        a.out.write_text(text)
    log.info("%s", text)


if __name__ == "__main__":
    main()
