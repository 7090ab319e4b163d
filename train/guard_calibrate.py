"""Choose every threshold on the validation split, through the exported graph.

Category thresholds (``injection``, ``harmful``), per operating point: on EACH benign
validation set take the lowest threshold that flags at most ``floor(f * n)`` of its
``n`` texts, where ``f`` is the operating point's target false-positive rate on the
traffic sets (the RouterBench, RouteLLM and DC-Router prompts, and ``presidio``) and the
category's own, stated, rate on the two small trigger-word sets (``deepset`` benign and
``hard_benign``: a few dozen texts each, where 1% would mean "none"); the threshold is
the highest of these, so every set's FPR is within its target at once.

Tagger threshold, per operating point: the entity-probability threshold (grid 0.05 ..
0.95) that maximises span F-beta on the Presidio validation texts (strict beta = 4,
balanced beta = 2, permissive beta = 1), with the overlap rule of ``eval.guard_spans``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from eval.guard_spans import score_spans
from router_model.guard.runtime import Guard
from train.guard_data import CATEGORIES, Example

BENIGN_SETS = {s: (s,) for s in ("routerbench", "routellm", "dcrouter", "deepset",
                                  "hard_benign", "presidio")}
BENIGN = tuple(s for members in BENIGN_SETS.values() for s in members)  # every benign source
HARD_SETS = ("deepset", "hard_benign")
TAG_BETA = {"strict": 4.0, "balanced": 2.0, "permissive": 1.0}
TAG_GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2).tolist())


@dataclass
class Scored:
    """Validation scores: (n, C) per category, with each text's source and labels."""

    scores: np.ndarray
    sources: list[str]
    labels: np.ndarray  # (n, C) 1 / 0 / -1


def score_examples(guard: Guard, examples: Sequence[Example], desc: str = "score") -> Scored:
    rows = []
    for ex in tqdm(examples, desc=desc, unit="text", mininterval=2.0):
        s, _ = guard.analyze(ex.text)
        rows.append([s[c] for c in CATEGORIES])
    return Scored(np.array(rows, dtype=np.float64), [e.source for e in examples],
                  np.array([e.labels for e in examples]))


def fpr_threshold(benign: np.ndarray, fpr: float) -> float:
    """Lowest threshold with at most floor(fpr * n) of ``benign`` at or above it."""
    s = np.sort(benign)[::-1]
    k = math.floor(fpr * len(s))
    if k >= len(s):
        return 0.0
    return float(np.nextafter(s[k], np.inf))


def category_thresholds(sc: Scored, fprs: Mapping[str, float],
                        hard: Mapping[str, Mapping[str, float]] | None = None,
                        benign_sets: Mapping[str, Sequence[str]] = BENIGN_SETS
                        ) -> dict[str, dict[str, float]]:
    """category -> operating point -> threshold (see module docstring).

    Args:
        fprs: operating point -> target FPR on the traffic sets.
        hard: category -> operating point -> target FPR on ``HARD_SETS`` (default: fprs).
    """
    out: dict[str, dict[str, float]] = {}
    src = np.array(sc.sources)
    for j, cat in enumerate(CATEGORIES):
        out[cat] = {}
        for op, f in fprs.items():
            per_set = []
            for name, members in benign_sets.items():
                m = np.isin(src, members) & (sc.labels[:, j] == 0)
                if m.any():
                    rate = (hard or {}).get(cat, {}).get(op, f) if name in HARD_SETS else f
                    per_set.append(fpr_threshold(sc.scores[m, j], rate))
            out[cat][op] = max(per_set)
    return out


def tag_thresholds(guard: Guard, pii_val: Sequence[Example],
                   betas: Mapping[str, float] = TAG_BETA, benign: Sequence[Example] = (),
                   benign_cap: Mapping[str, float] | None = None
                   ) -> tuple[dict[str, float], dict]:
    """operating point -> tag threshold maximising span F-beta on ``pii_val`` among the
    grid thresholds whose tagger spans per ``benign`` text are at most
    ``benign_cap[op]`` (no cap for an operating point it does not name; if no threshold
    meets the cap, the one with the fewest benign spans); and the grid's scores."""
    learned = next(c for c in guard.checks if c.name == "learned")
    learned.tag_thresholds.update({f"t{t}": t for t in TAG_GRID})  # type: ignore[attr-defined]
    grid, per_text = {}, {}
    for t in tqdm(TAG_GRID, desc="tag threshold grid", unit="threshold"):
        docs = [(guard.analyze(ex.text, f"t{t}")[1], list(ex.spans)) for ex in pii_val]
        grid[t] = score_spans(docs)["ALL"]
        spans = [sum(s.source == "tagger" for s in guard.analyze(ex.text, f"t{t}")[1])
                 for ex in benign]
        per_text[t] = float(np.mean(spans)) if spans else 0.0
    cap = dict(benign_cap or {})

    def best_for(op: str, beta: float) -> float:
        ok = [t for t in TAG_GRID if op not in cap or per_text[t] <= cap[op]]
        if not ok:
            return min(TAG_GRID, key=lambda t: (per_text[t], -t))
        return max(ok, key=lambda t: grid[t].f_beta(beta))

    best = {op: best_for(op, b) for op, b in betas.items()}
    table = {str(t): {**grid[t].as_dict(), "tagger_spans_per_benign_text": per_text[t]}
             for t in TAG_GRID}
    return {op: float(t) for op, t in best.items()}, table
