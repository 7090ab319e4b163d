"""The guard's character n-gram scorer: fit, export, and choose its blend weight.

The scorer (``router_model.guard.ngram_model.NgramLogReg``) is fitted on the NORMALISED
training texts (what the guard sees at run time), with the training split's derived
attack sets (``eval.guard_sets.derived_sets``: attacks inside long benign prompts, and
obfuscated attacks). Its blend weight per category is chosen on the validation split
only: for each weight of ``WEIGHTS`` the guard (net + n-grams, per-window blend, max
over windows) scores the validation texts and the validation split's own derived sets
(without them the choice cannot see what windowing and normalising are for), the
category thresholds are set by the usual rule (``train.guard_calibrate``), and the
weight with the highest macro recall over the category's positive validation sources
at the balanced threshold wins (ties: the higher pooled AUC, then the smaller weight).
Weight 0 is the net alone, so the blend can only be chosen where validation prefers it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from eval.guard_metrics import per_source
from eval.guard_sets import derived_sets
from router_model.guard.artifact import NGRAM
from router_model.guard.ngram_model import NgramLogReg
from router_model.guard.normalize import Normalizer
from router_model.guard.runtime import Guard
from router_model.tokenization import file_sha256
from train.guard_calibrate import BENIGN, category_thresholds, score_examples
from train.guard_data import CATEGORIES, Example

log = logging.getLogger(__name__)
WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0)


def with_derived(split: Sequence[Example], seed: int = 0) -> list[Example]:
    """A split's texts followed by its derived attack sets (see module docstring)."""
    return [*split, *derived_sets(list(split), seed)]


def fit_ngram(train: Sequence[Example], val: Sequence[Example]) -> NgramLogReg:
    """The scorer fitted on the normalised training texts and their derived attacks
    (C picked on the validation texts and theirs)."""
    norm = Normalizer()
    train, val = with_derived(train), with_derived(val)
    return NgramLogReg().fit([norm(e.text).text for e in train],
                             np.array([e.labels for e in train]),
                             [norm(e.text).text for e in val],
                             np.array([e.labels for e in val]))


def write_ngram(model: NgramLogReg, out_dir: Path) -> dict[str, Any]:
    """Write ``OUT/ngram.onnx``; the manifest entry (hash, hashing; weights to come)."""
    path = out_dir / NGRAM
    onnx.save_model(model.to_onnx(), str(path))
    return {"file": NGRAM, "sha256": file_sha256(path), "weight": {}, **model.info()}


def _objective(scores: np.ndarray, labels: np.ndarray, sources: list[str],
               threshold: float) -> tuple[float, float]:
    """(macro recall over positive sources at ``threshold``, pooled AUC)."""
    m = per_source(scores, labels, sources, threshold, BENIGN)
    rec = [v["recall_at_threshold"] for k, v in m.items()
           if k != "ALL" and not k.startswith("benign:")]
    auc = float(np.nan_to_num(m.get("ALL", {}).get("auc", 0.0)))
    return float(np.nanmean(rec)) if rec else 0.0, auc


def choose_weights(make_guard: Callable[[Mapping[str, float]], Guard], val: Sequence[Example],
                   fprs: Mapping[str, float], hard: Mapping[str, Mapping[str, float]],
                   weights: Sequence[float] = WEIGHTS) -> tuple[dict[str, float], dict]:
    """category -> chosen weight, and the table weight -> category -> (recall, AUC)."""
    table: dict[str, dict[str, list[float]]] = {}
    val = with_derived(val)
    for w in weights:
        sc = score_examples(make_guard(dict.fromkeys(CATEGORIES, w)), val, f"blend w={w:g}")
        th = category_thresholds(sc, fprs, hard)
        table[f"{w:g}"] = {c: list(_objective(sc.scores[:, j], sc.labels[:, j], sc.sources,
                                              th[c]["balanced"]))
                           for j, c in enumerate(CATEGORIES)}
    best = {}
    for c in CATEGORIES:
        key = max(weights, key=lambda w: (*table[f"{w:g}"][c], -w))
        best[c] = float(key)
        log.info("n-gram blend weight for %s: %g (val macro recall %.4f, AUC %.4f)", c, key,
                 *table[f"{key:g}"][c])
    return best, table
