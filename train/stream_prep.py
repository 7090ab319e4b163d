"""The two streamed passes before training on a log larger than memory.

Pass 1, ``scan`` (one process): the models, the training split's log-outcome scales (the
same statistics as ``outcome_net.log_scales``, accumulated), a bounded sample of training
queries (the featurizer's SIF weights and int8 calibration), the held-out requests (at most
``max_val``), per-model sums for the serving profiles, and an order-independent hash of
the rows (the per-row hashes of ``train.sources.frame_sha256``, summed mod 2^64 instead of
sorted). Pass 2, ``featurize_chunks`` (every process, chunk k by rank k mod W): features
and targets of the training requests, one ``.npy`` trio per chunk under the work dir (the
``FeatureStore``), and the feature sums for the input standardisation. Memory is bounded
by one chunk, the samples and the held-out set, never by the log.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from router_model.policies.fitting import _tensors
from router_model.policies.outcome_net import LOG_EPS, REGRESSED, LogScale
from router_model.policies.supervised import full_info_targets
from train.stream_data import RequestBlock, concat, in_validation, rechunk

HASH_COLS = ["request_id", "model", "query", "quality", "cost_usd", "latency_ms", "energy_j"]


@dataclass
class ScanResult:
    """What pass 1 learned (see module)."""

    models: list[str]
    scales: dict[str, LogScale]
    sample: RequestBlock | None  # the first ``sample_size`` training requests of the stream
    val: RequestBlock | None
    profile_frame: pd.DataFrame  # one row per model: what model_profiles reads
    sha256: str
    n_rows: int = 0
    n_train: int = 0
    n_val: int = 0


@dataclass
class _Acc:
    """Running sums of pass 1."""

    m: int
    log_sum: dict[str, np.ndarray] = field(default_factory=dict)
    log_sq: dict[str, np.ndarray] = field(default_factory=dict)
    log_n: dict[str, np.ndarray] = field(default_factory=dict)
    prof: dict[str, np.ndarray] = field(default_factory=dict)
    row_hash: int = 0  # the rows' 64-bit hashes summed mod 2^64 (order-independent)

    def __post_init__(self) -> None:
        for name in REGRESSED:
            self.log_sum[name], self.log_sq[name] = np.zeros(self.m), np.zeros(self.m)
            self.log_n[name] = np.zeros(self.m)
        for col in ("rows", "completion_tokens", "tokens", "cost_usd", "latency_ms", "energy_j"):
            self.prof[col] = np.zeros(self.m)


def _add_train(acc: _Acc, b: RequestBlock, idx: np.ndarray) -> None:
    for name in REGRESSED:
        v = b.outcomes[name][idx]
        ok = np.isfinite(v)
        y = np.log(np.where(ok, v, 0.0) + LOG_EPS[name])
        acc.log_sum[name] += np.where(ok, y, 0.0).sum(0)
        acc.log_sq[name] += np.where(ok, y * y, 0.0).sum(0)
        acc.log_n[name] += ok.sum(0)


def _add_rows(acc: _Acc, b: RequestBlock, models: list[str]) -> None:
    df = b.rows.to_pandas()
    h = pd.util.hash_pandas_object(df[[c for c in HASH_COLS if c in df]], index=False)
    acc.row_hash = (acc.row_hash + int(h.to_numpy(dtype=np.uint64).sum(dtype=np.uint64))) % 2**64
    df["tokens"] = df["prompt_tokens"] + df["completion_tokens"]
    df["rows"] = 1.0
    sums = df.groupby("model")[list(acc.prof)].sum().reindex(models).fillna(0.0)
    for col in acc.prof:
        acc.prof[col] += sums[col].to_numpy(dtype=float)


def _scales(acc: _Acc) -> dict[str, LogScale]:
    out = {}
    for name in REGRESSED:
        cnt = np.maximum(acc.log_n[name], 1)
        mu = acc.log_sum[name] / cnt
        sd = np.sqrt(np.maximum(acc.log_sq[name] / cnt - mu * mu, 0.0))
        out[name] = LogScale(mu.astype(np.float32), np.maximum(sd, 1e-3).astype(np.float32))
    return out


def _profile_frame(acc: _Acc, models: list[str]) -> pd.DataFrame:
    """Per model one row whose mean / sum are the whole log's (``model_profiles``)."""
    p, n = acc.prof, np.maximum(acc.prof["rows"], 1)
    mean_ct = p["completion_tokens"] / n
    return pd.DataFrame({"model": models, "completion_tokens": mean_ct,
                         "prompt_tokens": p["tokens"] - mean_ct, "cost_usd": p["cost_usd"],
                         "latency_ms": p["latency_ms"] / n, "energy_j": p["energy_j"] / n})


def scan(blocks: Iterable[RequestBlock], models: list[str], val_fraction: float,
         split_seed: int, sample_size: int, max_val: int,
         progress: Callable[[int], None] = lambda n: None) -> ScanResult:
    """Pass 1 over every request block (see module)."""
    acc, n = _Acc(len(models)), [0, 0, 0]
    sample: list[RequestBlock] = []
    val: list[RequestBlock] = []
    for b in blocks:
        held = in_validation(b.request_ids, val_fraction, split_seed)
        train = np.flatnonzero(~held)
        _add_train(acc, b, train)
        _add_rows(acc, b, models)
        _keep(sample, b, train, sample_size)
        _keep(val, b, np.flatnonzero(held), max_val)
        n[0] += b.rows.num_rows
        n[1] += len(train)
        n[2] += int(held.sum())
        progress(b.rows.num_rows)
    sha = hashlib.sha256(f"stream:{int(acc.row_hash)}:{n[0]}".encode()).hexdigest()
    return ScanResult(models, _scales(acc), concat(sample) if sample else None,
                      concat(val) if val else None, _profile_frame(acc, models), sha, *n)


def _keep(kept: list[RequestBlock], b: RequestBlock, idx: np.ndarray, cap: int) -> None:
    """Append rows ``idx`` of ``b`` to ``kept`` while fewer than ``cap`` requests are kept."""
    have = sum(len(k) for k in kept)
    if have < cap and len(idx):
        kept.append(_subset(b, idx[: cap - have]))


def _subset(b: RequestBlock, idx: np.ndarray) -> RequestBlock:
    """Rows ``idx`` of ``b``, copied, without its raw rows: an empty table of their schema
    (a zero-length ``slice`` would still hold the whole batch's Arrow buffers, so the kept
    samples and held-out requests pinned a batch each: memory grew with the log)."""
    return RequestBlock(b.request_ids[idx], b.queries[idx], b.tasks[idx],
                        {k: v[idx] for k, v in b.outcomes.items()}, b.rows.schema.empty_table())


class FeatureStore:
    """Training chunks on disk: ``x_<k>.npy`` (n, d) float32, ``y_<k>.npy`` and
    ``w_<k>.npy`` (n, 4, M) float32 (``fitting._tensors``), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, k: int, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        for name, arr in (("x", X), ("y", y), ("w", w)):
            tmp = self.root / f".{name}_{k:06d}.{os.getpid()}.npy"
            np.save(tmp, np.ascontiguousarray(arr, dtype=np.float32))
            tmp.replace(self.root / f"{name}_{k:06d}.npy")

    def load(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return tuple(torch.from_numpy(np.load(self.root / f"{n}_{k:06d}.npy"))  # type: ignore[return-value]
                     for n in ("x", "y", "w"))

    def save_meta(self, meta: dict[str, Any]) -> None:
        (self.root / "meta.json").write_text(json.dumps(meta))

    def meta(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "meta.json").read_text()))


def featurize_chunks(blocks: Iterable[RequestBlock], store: FeatureStore, models: list[str],
                     scales: dict[str, LogScale], embed: Callable[[list[str]], np.ndarray],
                     chunk: int, dim: int, rank: int, world: int, val_fraction: float,
                     split_seed: int, progress: Callable[[int], None] = lambda n: None
                     ) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Pass 2: this rank's chunks of training requests to ``store``; returns (number of
    chunks in all, feature sum (d,), feature sum of squares (d,), rows) of this rank."""
    train_only = (_subset(b, np.flatnonzero(~in_validation(b.request_ids, val_fraction,
                                                           split_seed))) for b in blocks)
    k, s1, s2, rows = -1, np.zeros(dim), np.zeros(dim), 0
    for k, group in enumerate(rechunk(train_only, chunk)):
        if k % world != rank:
            continue
        block = concat(group)
        X = embed([str(q) for q in block.queries])
        y, w = _tensors(full_info_targets(block.view(models)), scales)
        store.write(k, X, y.numpy(), w.numpy())
        x64 = X.astype(np.float64)
        s1 += x64.sum(0)
        s2 += (x64 * x64).sum(0)
        rows += len(X)
        progress(len(X))
    return k + 1, s1, s2, rows
