"""``lmroute cache train``: QQP + traps -> fit -> calibrate -> operating point -> ONNX.

1. load the QQP pairs, split them by connected group (train / val / test), add traps
   generated from each split's own questions;
2. fit the verifier on train, picking the epoch by the validation score;
3. Platt-calibrate on validation, choose the operating point (threshold) meeting the
   false-hit targets on validation QQP negatives and validation traps;
4. export ONNX + manifest (with the operating point, the split and the data hashes) and
   check parity; log params, per-epoch metrics and the artifact to the tracker.

The test split is not touched here: ``lmroute cache eval`` measures it.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from train.cache_calibrate import operating_point, platt, recall_at_fhr, sigmoid
from train.cache_config import CacheTrainConf
from train.cache_data import Pair, closure, group_split, load_qqp, with_traps
from train.cache_fit import Encoded, PairModel, encode_pairs, fit, predict_logits
from train.cache_model import PairVerifier, verifier_flags
from train.cache_traps import TRAP_CATEGORIES
from train.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class CacheTrainResult:
    out_dir: Path
    metrics: dict[str, Any]
    timings_s: dict[str, float]


def subsample(pairs: list[Pair], n: int, seed: int) -> list[Pair]:
    """A seeded sample of ``n`` pairs (all of them when ``n`` is 0 or not smaller)."""
    return random.Random(seed).sample(pairs, n) if 0 < n < len(pairs) else pairs


def split_counts(splits: dict[str, list]) -> dict[str, int]:
    return {k: len(v) for k, v in splits.items()}


def val_score(target: float, trap_target: float):  # -> Callable[[np.ndarray, Encoded], dict]
    """The epoch-selection score: validation recall at ``target`` false hits, minus the
    trap false-hit rate in excess of ``trap_target`` at that threshold."""
    def score(logits: np.ndarray, data: Encoded) -> dict[str, float]:
        cats = np.asarray(data.categories)
        qqp = cats == "qqp"
        rec, t = recall_at_fhr(logits[qqp], data.labels[qqp], target)
        traps = np.isin(cats, TRAP_CATEGORIES)
        trap_fhr = float((logits[traps] >= t).mean()) if traps.any() else 0.0
        return {"val_recall_at_target": rec, "val_trap_fhr_at_target": trap_fhr,
                "score": rec - 2.0 * max(0.0, trap_fhr - trap_target)}
    return score


def build_model(conf: CacheTrainConf, tok: Any) -> PairModel:
    from router_model.distill import distill_table

    if conf.model.kind == "cross":
        from train.cache_cross_model import CrossVerifier

        return CrossVerifier()
    if conf.model.kind != "esim":
        raise ValueError(f"model.kind: expected 'esim' or 'cross', got {conf.model.kind!r}")
    table = distill_table(conf.model.table_dim)
    flags = verifier_flags(tok.get_vocab(), table.vectors.shape[0])
    return PairVerifier(table.vectors, flags, conf.model.hidden, conf.model.train_table)


def run_cache_training(conf: CacheTrainConf, tracker: Tracker) -> CacheTrainResult:
    from router_model.tokenization import load_tokenizer
    from train.cache_data import file_sha256
    from train.cache_export import write_artifact

    timings: dict[str, float] = {}
    t = time.time()
    d = conf.data
    pairs = load_qqp(d.qqp_path)
    if d.max_pairs:
        pairs = pairs[:d.max_pairs]
    base = group_split(pairs, d.val_fraction, d.test_fraction, d.split_seed)
    implied = closure(base["train"], d.closure_per_group, d.split_seed) \
        if d.closure_per_group else []
    log.info("transitive closure: %d implied training pairs", len(implied))
    base["train"] = subsample(base["train"], d.max_train_pairs, d.split_seed) + implied
    splits = with_traps(base,
                        {"train": d.traps_train, "val": d.traps_val, "test": d.traps_test},
                        d.split_seed)
    tok = load_tokenizer(512)
    tok.no_padding()
    train, val = (encode_pairs(tok, splits[s], conf.model.max_tokens) for s in ("train", "val"))
    timings["data_s"] = time.time() - t
    log.info("pairs per split (with traps): %s", split_counts(splits))

    t = time.time()
    model = build_model(conf, tok)
    cal = conf.calibrate
    res = fit(model, train, val, conf.trainer,
              val_score(cal.target_false_hit_rate, cal.target_trap_false_hit_rate),
              on_epoch=lambda e, m: tracker.log_metrics(m, step=e))
    timings["fit_s"] = time.time() - t

    logits = predict_logits(model, val)
    scale, bias = platt(logits, val.labels)
    model.scale.data.fill_(scale)
    model.bias.data.fill_(bias)
    op = operating_point(sigmoid(scale * logits + bias), val.labels, val.categories,
                         cal.target_false_hit_rate, cal.target_trap_false_hit_rate)
    log.info("operating point: %s", op)

    t = time.time()
    info = {"model": asdict(conf.model), "calibration": {"scale": scale, "bias": bias},
            "operating_point": op.to_dict(),
            "data": {"qqp_sha256": file_sha256(d.qqp_path), "split_seed": d.split_seed,
                     "val_fraction": d.val_fraction, "test_fraction": d.test_fraction,
                     "max_pairs": d.max_pairs, "counts": split_counts(splits),
                     "closure_per_group": d.closure_per_group, "implied_pairs": len(implied),
                     "max_train_pairs": d.max_train_pairs,
                     "traps": {"train": d.traps_train, "val": d.traps_val,
                               "test": d.traps_test}},
            "training": {"best_epoch": res.best_epoch, "history": res.history,
                         "seconds": res.seconds}}
    out_dir = Path(conf.export.out_dir)
    manifest = write_artifact(model, out_dir, tok, conf.model.max_tokens, info,
                              conf.export.exporter, conf.export.parity_samples)
    timings["export_s"] = time.time() - t
    metrics = {"val_" + k: v for k, v in op.to_dict().items() if not isinstance(v, dict)}
    metrics.update({f"val_{k}_rate": v for k, v in op.per_category.items()})
    metrics.update(manifest["parity"])
    tracker.log_metrics({k: v for k, v in metrics.items() if isinstance(v, int | float)})
    tracker.log_artifact_dir(out_dir)
    return CacheTrainResult(out_dir, metrics, timings)
