"""Train and export one router: logs -> features -> policy -> ONNX artifact (+ int8).

``run_training`` takes the typed config (dataclasses from ``train.config``), an
already-built policy and a tracker; it never sees a DictConfig.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer
from torch import nn

from data.matrix import FullInfo
from router_model.featurizer import featurize
from router_model.featurizer_spec import FeaturizerSpec
from router_model.policies.base import Policy
from router_model.tokenization import TRUNCATION, load_tokenizer, save_tokenizer
from train.config import TrainConf
from train.data_sources import DataSource
from train.evaluate import ValidationReport, validation_report
from train.exporting import export_artifact
from train.sources import split_indices, subset
from train.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced."""

    out_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, float]
    timings_s: dict[str, float] = field(default_factory=dict)
    featurizer: nn.Module | None = None  # the torch featurizer that was exported


def reference_model(conf: TrainConf, val_log: Any) -> str:
    """The configured reference model, else the best single model on the validation split
    (``eval.curves.reference_index``: the rule every report uses)."""
    from eval.curves import reference_index

    if not isinstance(val_log, FullInfo):
        return conf.reward.reference_model or val_log.models[0]
    return val_log.models[reference_index(np.nanmean(val_log.quality, axis=0),
                                          np.nanmean(val_log.cost_usd, axis=0),
                                          val_log.models, conf.reward.reference_model or None)]


def validate(conf: TrainConf, policy: Policy, X: np.ndarray, val_log: Any,
             ref: str) -> ValidationReport | None:
    """Cost-quality curve on the validation split (full-information logs only)."""
    if not isinstance(val_log, FullInfo):
        log.info("validation curve needs full-information logs; skipped for bandit logs")
        return None
    return validation_report(policy, X, val_log, list(conf.reward.w_costs), ref,
                             conf.reward.target_fraction, val_log.tasks)


def baseline_metrics(conf: TrainConf, X_tr: np.ndarray, train_log: Any, X_va: np.ndarray,
                     val_log: Any, ref: str) -> dict[str, float]:
    """The same validation figures for each configured baseline (same split, features)."""
    import router_model.policies.baselines  # noqa: F401  (registers them)
    from router_model.policies.base import make_policy

    out: dict[str, float] = {}
    if not isinstance(val_log, FullInfo):
        return out
    for name in conf.reward.baselines:
        base = make_policy(name).fit(X_tr, train_log)
        rep = validate(conf, base, X_va, val_log, ref)
        if rep is not None:
            out.update(rep.flat_metrics(prefix=f"baseline_{name}"))
    return out


def _epoch_logger(tracker: Tracker, epochs: int) -> Any:
    counter = {"n": 0}

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        tracker.log_metrics(metrics, step=counter["n"])
        counter["n"] += 1

    return on_epoch


def _featurize(featurizer: FeaturizerSpec, tok: Tokenizer, train_texts: list[str],
               texts: list[str]) -> tuple[nn.Module, dict[str, object], np.ndarray]:
    module, info = featurizer.build(tok, train_texts)
    return module, info, featurize(module, tok, texts, featurizer.batch_size)


def run_training(conf: TrainConf, policy: Policy, tracker: Tracker, source: DataSource,
                 featurizer: FeaturizerSpec) -> TrainResult:
    """The whole job; returns the artifact directory, manifest and metrics. ``source`` is
    the data group's object (``train/data_sources.py``; ``conf.data`` is its config),
    ``featurizer`` the featurizer group's (``router_model/featurizer_spec.py``).
    ``trainer.stream``: the streamed, bounded-memory, multi-process job instead
    (``train/stream_pipeline.py``)."""
    import torch

    if conf.trainer.stream:
        from train.stream_pipeline import run_stream_training

        return run_stream_training(conf, policy, tracker, source, featurizer)

    torch.set_num_threads(max(conf.trainer.threads, 1))
    torch.manual_seed(conf.trainer.seed)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    logs = source.load(conf.trainer.seed)
    tr, va = split_indices(logs.view.tasks, source.val_fraction, source.split_seed)
    train_log, val_log = subset(logs.view, tr), subset(logs.view, va)
    times["load_s"] = time.perf_counter() - t0
    tok = load_tokenizer(featurizer.max_tokens)
    t0 = time.perf_counter()
    module, feat_info, X = _featurize(featurizer, tok, list(train_log.queries),
                                      list(logs.view.queries))
    times["featurize_s"] = time.perf_counter() - t0
    if hasattr(policy, "on_epoch"):
        policy.on_epoch = _epoch_logger(tracker, 0)
    t0 = time.perf_counter()
    policy.fit(X[tr], train_log)
    times["fit_s"] = time.perf_counter() - t0
    ref = reference_model(conf, val_log)
    report = validate(conf, policy, X[va], val_log, ref)
    metrics = report.flat_metrics() if report else {}
    metrics.update(baseline_metrics(conf, X[tr], train_log, X[va], val_log, ref))
    metrics.update({"n_train": float(len(tr)), "n_val": float(len(va))})
    tracker.log_metrics(metrics)
    out_dir = Path(conf.export.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok_info = {"sha256": save_tokenizer(tok, out_dir / "tokenizer.json"),
                "max_tokens": featurizer.max_tokens, "truncation": TRUNCATION}
    t0 = time.perf_counter()
    manifest = export_artifact(conf, module, policy, tok, out_dir, feat_info, tok_info,
                               logs, metrics, X[va], list(val_log.queries), report)
    times["export_s"] = time.perf_counter() - t0
    tracker.log_metrics({**{k: v for k, v in manifest.metrics.items()
                            if isinstance(v, int | float)}, **times})
    tracker.log_artifact_dir(out_dir)
    return TrainResult(out_dir, manifest.to_dict(), manifest.metrics, times, module)


def flat_params(conf: TrainConf) -> dict[str, object]:
    """Dotted config keys -> values, for the tracker."""
    out: dict[str, object] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = obj

    walk("", asdict(conf) if not isinstance(conf, dict) else conf)
    return out
