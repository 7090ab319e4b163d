"""``lmroute train trainer=stream``: train and export one router from a full-information log
of any size, in bounded memory, in one process or many (``torchrun``; docs/scale.md).

Steps (the source's rows stream through ``datasets`` each time: ``DataSource.iter_tables``):
models (the ``model`` column only, unless ``data.models`` names them) -> pass 1, the scan
(main process; shared with the others through ``<work>/scan.json``) -> the featurizer
(SIF weights from the scan's training sample) -> pass 2, features of the training requests
into the ``FeatureStore`` (chunks split over the processes) -> the input scales (summed
over processes) -> the ensemble (``stream_fit``, DDP when several) -> on the main process:
validation on the held-out requests, baselines fitted on the training sample, and the
usual export (``train.exporting.export_artifact``: ONNX, parity, int8, manifest).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from router_model.featurizer import featurize
from router_model.featurizer_spec import FeaturizerSpec
from router_model.policies.base import Policy
from router_model.policies.outcome_net import LogScale
from router_model.policies.supervised import SupervisedPolicy
from router_model.tokenization import TRUNCATION, load_tokenizer, save_tokenizer
from train.config import TrainConf
from train.data_sources import DataSource
from train.distributed import Dist, init_from_env, shutdown
from train.stream_data import COLUMNS, iter_requests
from train.stream_fit import fit_stream
from train.stream_prep import FeatureStore, ScanResult, featurize_chunks, scan
from train.tracking import Tracker

log = logging.getLogger(__name__)


def _check(conf: TrainConf, policy: Policy, source: DataSource) -> None:
    if not isinstance(policy, SupervisedPolicy):
        raise ValueError("trainer.stream: streamed training fits the supervised policy "
                         "(full-information logs); policy=offpolicy needs trainer=default")
    if source.feedback != "full":
        raise ValueError("trainer.stream: expected data.feedback=full")
    if source.max_requests:
        raise ValueError("data.max_requests: not supported with trainer.stream (the log "
                         "streams whole; sample it beforehand)")


def _models(source: DataSource, batch_rows: int) -> list[str]:
    if source.models:
        return list(source.models)
    found: set[str] = set()
    for t in source.iter_tables(0, batch_rows, ["model"]):
        found.update(t.column("model").unique().to_pylist())
    if not found:
        raise ValueError(f"data.paths: no rows in {source.paths}")
    return sorted(found)


def _rows_bar(desc: str, main: bool) -> Any:
    return tqdm(desc=desc, unit="row", unit_scale=True, disable=not main, mininterval=2.0)


def _blocks(source: DataSource, seed: int, conf: TrainConf, models: list[str]
            ) -> Iterator[Any]:
    t = conf.trainer
    return iter_requests(source.iter_tables(seed, t.batch_rows, COLUMNS), models)


def _scan_shared(source: DataSource, conf: TrainConf, models: list[str], dist: Dist,
                 work: Path) -> tuple[ScanResult | None, dict[str, Any]]:
    """Pass 1 on the main process; every process gets models, scales and the sample."""
    t, res = conf.trainer, None
    if dist.main:
        with _rows_bar("scan", True) as bar:
            res = scan(_blocks(source, conf.trainer.seed, conf, models), models,
                       source.val_fraction, source.split_seed, t.sample_requests,
                       t.max_val_requests, bar.update)
        sample = [str(q) for q in res.sample.queries] if res.sample is not None else []
        shared = {"models": models, "sample": sample, "n_train": res.n_train,
                  "scales": {k: [v.mean.tolist(), v.std.tolist()] for k, v in res.scales.items()}}
        (work / "scan.json").write_text(json.dumps(shared))
    dist.barrier()
    return res, json.loads((work / "scan.json").read_text())


def _featurizer(featurizer: FeaturizerSpec, sample: list[str], dist: Dist
                ) -> tuple[Any, Any, dict]:
    tok = load_tokenizer(featurizer.max_tokens)
    for turn in (True, False):  # the main process first (it may distil the cached table)
        if dist.main == turn:
            module, info = featurizer.build(tok, sample)
        dist.barrier()
    return tok, module, info


def _input_scales(s1: np.ndarray, s2: np.ndarray, rows: int, dist: Dist
                  ) -> tuple[np.ndarray, np.ndarray]:
    tot = dist.all_sum(torch.from_numpy(np.concatenate([s1, s2, [float(rows)]])))
    d, n = len(s1), max(float(tot[-1]), 1.0)
    mean = tot[:d].numpy() / n
    std = np.sqrt(np.maximum(tot[d:2 * d].numpy() / n - mean * mean, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-4).astype(np.float32)


def run_stream_training(conf: TrainConf, policy: Policy, tracker: Tracker,
                        source: DataSource, featurizer: FeaturizerSpec) -> Any:
    """The streamed job (see module); returns ``train.pipeline.TrainResult``."""
    from train.pipeline import TrainResult

    _check(conf, policy, source)
    assert isinstance(policy, SupervisedPolicy)
    dist, t = init_from_env(), conf.trainer
    torch.set_num_threads(max(t.threads, 1))
    work = Path(t.work_dir or f"{conf.export.out_dir}.work")
    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        models = _models(source, t.batch_rows)
        res, shared = _scan_shared(source, conf, models, dist, work)
        times["scan_s"] = time.perf_counter() - t0
        tok, module, info = _featurizer(featurizer, shared["sample"], dist)
        t0 = time.perf_counter()
        store = FeatureStore(work / "features")
        scales = {k: LogScale(np.asarray(v[0], np.float32), np.asarray(v[1], np.float32))
                  for k, v in shared["scales"].items()}
        with _rows_bar("featurize", dist.main) as bar:
            n_chunks, s1, s2, rows = featurize_chunks(
                _blocks(source, t.seed, conf, models), store, models, scales,
                lambda q: featurize(module, tok, q, featurizer.batch_size),
                t.chunk_requests, int(info["dim"]), dist.rank, dist.world,
                source.val_fraction, source.split_seed, bar.update)
        dist.barrier()
        times["featurize_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        x_mean, x_std = _input_scales(s1, s2, rows, dist)
        cfg = policy.fit_config()
        policy.module_ = fit_stream(store, n_chunks, len(models), x_mean, x_std, scales, cfg,
                                    dist, progress=log.info if dist.main else lambda s: None)
        policy.models_, policy.history_ = list(models), cfg.history
        times["fit_s"] = time.perf_counter() - t0
        if not dist.main:
            dist.barrier()  # until the main process has exported
            return TrainResult(Path(conf.export.out_dir), {}, {}, times, module)
        assert res is not None
        out = _finish(conf, featurizer, policy, tracker, res, tok, module, info, times)
        dist.barrier()
        return out
    finally:
        shutdown(dist)


def _finish(conf: TrainConf, featurizer: FeaturizerSpec, policy: SupervisedPolicy,
            tracker: Tracker, res: ScanResult, tok: Any, module: Any, info: dict,
            times: dict[str, float]) -> Any:
    """Validation, baselines and export on the main process (``train.pipeline``'s steps)."""
    from train.exporting import export_artifact
    from train.pipeline import TrainResult, baseline_metrics, reference_model, validate
    from train.sources import LoadedLogs

    if res.val is None or res.sample is None:
        raise ValueError("data.val_fraction: the stream has no held-out (or no training) "
                         "requests")
    models = policy.models_
    X_va = featurize(module, tok, [str(q) for q in res.val.queries], featurizer.batch_size)
    X_tr = featurize(module, tok, [str(q) for q in res.sample.queries],
                     featurizer.batch_size)
    val_log, train_log = res.val.view(models), res.sample.view(models)
    ref = reference_model(conf, val_log)
    report = validate(conf, policy, X_va, val_log, ref)
    metrics = report.flat_metrics() if report else {}
    metrics.update(baseline_metrics(conf, X_tr, train_log, X_va, val_log, ref))
    metrics.update({"n_train": float(res.n_train), "n_val": float(len(res.val)),
                    "n_val_held_out": float(res.n_val), "n_rows": float(res.n_rows)})
    tracker.log_metrics(metrics)
    out_dir = Path(conf.export.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok_info = {"sha256": save_tokenizer(tok, out_dir / "tokenizer.json"),
                "max_tokens": featurizer.max_tokens, "truncation": TRUNCATION}
    logs = LoadedLogs(res.profile_frame, train_log, res.sha256, conf.data.profiles)
    t0 = time.perf_counter()
    manifest = export_artifact(conf, module, policy, tok, out_dir, info, tok_info, logs,
                               metrics, X_va, [str(q) for q in res.val.queries], report)
    times["export_s"] = time.perf_counter() - t0
    tracker.log_metrics({**{k: v for k, v in manifest.metrics.items()
                            if isinstance(v, int | float)}, **times})
    tracker.log_artifact_dir(out_dir)
    return TrainResult(out_dir, manifest.to_dict(), manifest.metrics, times, module)
