"""Train, export, calibrate and describe one guard artifact.

load corpus (split by group) -> tokenize (run-time normaliser + encoder) -> fit GuardNet
(``trainer.ensemble`` > 1: that many seeds, averaged in one graph)
-> export ONNX + int8 -> parity vs torch -> thresholds on validation through the exported
graph -> validation metrics -> manifest -> MLflow.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort
import torch

from eval.guard_metrics import per_source, summarize
from router_model.featurizer import build_featurizer
from router_model.guard.artifact import NGRAM
from router_model.guard.checks import Runner
from router_model.guard.encoding import GuardEncoder
from router_model.guard.export import FP32, INT8, attach_manifest, export_guard, write_int8
from router_model.guard.manifest import GuardManifest
from router_model.guard.nets import GuardNet, exported_form
from router_model.guard.parity import check_guard_parity
from router_model.guard.runtime import Guard
from router_model.runtime import session_options
from router_model.tokenization import TRUNCATION, load_tokenizer, save_tokenizer
from train.guard_calibrate import (
    BENIGN,
    BENIGN_SETS,
    HARD_SETS,
    TAG_BETA,
    category_thresholds,
    score_examples,
    tag_thresholds,
)
from train.guard_config import GuardTrainConf
from train.guard_data import BENIGN_TRAFFIC, CATEGORIES, Example, load_corpus
from train.guard_fit import GuardTrainer
from train.guard_ngram import choose_weights, fit_ngram, write_ngram
from train.guard_tensors import tokenize
from train.tracking import Tracker

log = logging.getLogger(__name__)
CHECKS = ["pii_rules", "secrets", "learned"]


@dataclass
class GuardTrainResult:
    out_dir: Path
    metrics: dict[str, Any]
    timings_s: dict[str, float] = field(default_factory=dict)


def data_sha256(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.source, e.text)):
        h.update(f"{e.source}\0{e.labels}\0{e.text}\0".encode())
    return h.hexdigest()


def tag_labels(train: list[Example]) -> list[str]:
    """BIO tags: ``O``, then ``B-T``, ``I-T`` per entity type of the training spans."""
    types = sorted({s.entity_type for e in train for s in e.spans})
    return ["O", *[f"{p}-{t}" for t in types for p in ("B", "I")]]


def _provisional_manifest(conf: GuardTrainConf, tags: list[str]) -> dict[str, Any]:
    return {"categories": list(CATEGORIES), "tags": tags, "checks": CHECKS,
            "thresholds": {}, "windows": {"width": conf.model.window,
                                          "stride": conf.model.stride}}


def _runner(path: Path) -> Runner:
    sess = ort.InferenceSession(str(path), session_options(1),
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return lambda f: sess.run(names, f)


def _guard(path: Path, manifest: dict[str, Any], tok_path: Path) -> Guard:
    """The guard of ``manifest`` over the graph at ``path`` (and ``ngram.onnx`` beside it
    when the manifest lists the n-gram scorer)."""
    ngram = _runner(path.parent / NGRAM) if manifest.get("ngram") else None
    return Guard.from_runner(_runner(path), manifest, tok_path, ngram=ngram)


def _add_ngram(conf: GuardTrainConf, out: Path, prov: dict[str, Any], train: list[Example],
               val: list[Example], timings: dict[str, float]) -> dict[str, Any]:
    """Fit and write the n-gram scorer; choose its blend weights on validation (into
    ``prov["ngram"]``); the weight table for the metrics."""
    t0 = time.perf_counter()
    entry = write_ngram(fit_ngram(train, val), out)
    prov["ngram"] = entry

    def make(w: Any) -> Guard:
        entry["weight"] = dict(w)
        return _guard(out / FP32, prov, out / "tokenizer.json")

    weights, table = choose_weights(make, val, dict(conf.thresholds.fpr),
                                    dict(conf.thresholds.hard_fpr), conf.model.ngram_weights)
    entry["weight"] = weights
    timings["ngram"] = time.perf_counter() - t0
    return table


def _fit(conf: GuardTrainConf, train: list[Example], val: list[Example], tags: list[str],
         timings: dict[str, float]) -> tuple[list[GuardNet], list[GuardTrainer], dict[str, Any],
                                             Any]:
    """Fit ``trainer.ensemble`` nets (seeds ``seed``, ``seed + 1``, ...) on the same
    tokenized data and the same frozen featurizer (one table in the exported graph)."""
    tok = load_tokenizer(512)
    featurizer, feat_info = build_featurizer("static", tok, [e.text for e in train],
                                             conf.model.static_dim, conf.model.sif_a)
    enc_tok = load_tokenizer(512)
    enc_tok.no_truncation()
    enc_tok.no_padding()
    encoder = GuardEncoder(enc_tok)
    t0 = time.perf_counter()
    index = {t: i for i, t in enumerate(tags)}
    neg = frozenset(conf.data.tag_negatives)
    train_items = tokenize(train, encoder, index, neg)
    val_items = tokenize(val, encoder, index, neg)
    timings["tokenize"] = time.perf_counter() - t0
    m, tc = conf.model, conf.trainer
    if tc.ensemble < 1:
        raise ValueError(f"trainer.ensemble must be >= 1 (nets to average), got {tc.ensemble}")
    nets, trainers = [], []
    t0 = time.perf_counter()
    for k in range(tc.ensemble):
        net = GuardNet(featurizer, len(CATEGORIES), len(tags), m.hidden, m.conv_layers,  # type: ignore[arg-type]
                       m.token_dim, m.ngram_buckets, m.ngram_dim, m.dropout, m.wide_buckets)
        trainer = GuardTrainer(tc.epochs, tc.batch_size, tc.lr, tc.weight_decay,
                               tc.samples_per_epoch, tc.tag_weight, m.window, encoder.cls_id,
                               encoder.sep_id, tc.seed + k, dict(tc.source_weights))
        if tc.ensemble > 1:
            log.info("ensemble member %d/%d (seed %d)", k + 1, tc.ensemble, tc.seed + k)
        nets.append(net)
        trainers.append(trainer.fit(net, train_items, val_items))
    timings["fit"] = time.perf_counter() - t0
    return nets, trainers, feat_info, tok


def _val_metrics(guard: Guard, val: list[Example], thresholds: dict[str, dict[str, float]]
                 ) -> dict[str, Any]:
    sc = score_examples(guard, val, "validation scores")
    by_cat = {c: per_source(sc.scores[:, j], sc.labels[:, j], sc.sources,
                            thresholds[c]["balanced"], BENIGN)
              for j, c in enumerate(CATEGORIES)}
    return {"val": by_cat, "val_flat": summarize(by_cat)}


def _int8_agreement(out: Path, manifest: dict[str, Any], tok_path: Path, val: list[Example],
                    guard: Guard) -> float:
    q = _guard(out / INT8, manifest, tok_path)
    sample = val[:: max(len(val) // 1000, 1)]
    same = sum(guard.check(e.text).verdict == q.check(e.text).verdict for e in sample)
    return same / max(len(sample), 1)


def run_guard_training(conf: GuardTrainConf, tracker: Tracker) -> GuardTrainResult:
    torch.set_num_threads(conf.trainer.threads)
    timings: dict[str, float] = {}
    corpus = load_corpus(Path(conf.data.root), conf.data.val, conf.data.test, conf.data.split_seed)
    train = [e for e in corpus if e.split == "train"]
    val = [e for e in corpus if e.split == "val"]
    tags = tag_labels(train)
    nets, trainers, feat_info, tok = _fit(conf, train, val, tags, timings)
    for i, tr in enumerate(trainers):  # member 0's curves as before, others prefixed
        for row in tr.history_:
            tracker.log_metrics({(f"m{i}." if i else "") + k: v for k, v in row.items()
                                 if k != "epoch"}, step=int(row["epoch"]))
    out = Path(conf.export.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok_sha = save_tokenizer(tok, out / "tokenizer.json")
    export_guard(exported_form(nets).eval(), out / FP32)
    if conf.export.int8:
        write_int8(out / FP32, out / INT8)
    parity = check_guard_parity(nets, out / FP32, conf.export.parity_samples)
    prov = _provisional_manifest(conf, tags)
    ngram_table = _add_ngram(conf, out, prov, train, val, timings) \
        if conf.model.ngram_weights else {}
    t0 = time.perf_counter()
    guard = _guard(out / FP32, prov, out / "tokenizer.json")
    thresholds = category_thresholds(score_examples(guard, val, "calibrate"),
                                     dict(conf.thresholds.fpr), dict(conf.thresholds.hard_fpr))
    benign_val = [e for e in val if e.source in BENIGN_TRAFFIC]
    tag_t, tag_grid = tag_thresholds(guard, [e for e in val if e.source == "presidio"],
                                     benign=benign_val[:: max(len(benign_val) // 600, 1)],
                                     benign_cap=dict(conf.thresholds.tag_benign_spans))
    thresholds["tag"] = tag_t
    prov["thresholds"] = thresholds
    guard = _guard(out / FP32, prov, out / "tokenizer.json")
    metrics = _val_metrics(guard, val, thresholds)
    timings["calibrate_and_validate"] = time.perf_counter() - t0
    metrics.update({"parity": parity.__dict__, "tag_threshold_grid": tag_grid,
                    "ngram_weight_grid": ngram_table,
                    "best_epoch": trainers[0].best_epoch_, "history": trainers[0].history_})
    if len(trainers) > 1:
        metrics["ensemble"] = [{"seed": conf.trainer.seed + i, "best_epoch": tr.best_epoch_,
                                "history": tr.history_} for i, tr in enumerate(trainers)]
    manifest = GuardManifest(
        categories=list(CATEGORIES), tags=tags, thresholds=thresholds,
        threshold_rule={"categories": {op: {"target_fpr": f, "on_each_of": list(BENIGN_SETS)}
                                       for op, f in conf.thresholds.fpr.items()},
                        "hard_sets": {"sets": list(HARD_SETS),
                                      "target_fpr": dict(conf.thresholds.hard_fpr)},
                        "tag": {op: {"maximise": f"span F{b:g}", "overlap": "same type, IoU>=0.5",
                                     "max_spans_per_benign_val_text":
                                         conf.thresholds.tag_benign_spans.get(op)}
                                for op, b in TAG_BETA.items()},
                        "tag_negatives": list(conf.data.tag_negatives),
                        "split": "validation (by group per source)"},
        windows=prov["windows"], checks=CHECKS,
        tokenizer={"sha256": tok_sha, "max_tokens": 512, "truncation": TRUNCATION,
                   "guard_truncation": "none (windows)"},
        featurizer=feat_info, net={"name": "GuardNet" if len(nets) == 1 else "GuardEnsemble",
                                   "members": len(nets), **conf.model.__dict__},
        train_data_sha256=data_sha256(train), metrics=metrics,
        data={"val": conf.data.val, "test": conf.data.test, "split_seed": conf.data.split_seed},
        ngram=prov.get("ngram", {}))
    if conf.export.int8:
        manifest.int8 = {"verdict_agreement_val": _int8_agreement(
            out, prov, out / "tokenizer.json", val, guard)}
    attach_manifest(out, manifest)
    tracker.log_metrics(metrics["val_flat"])
    tracker.log_artifact_dir(out)
    return GuardTrainResult(out, metrics, timings)
