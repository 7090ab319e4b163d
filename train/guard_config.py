"""Typed schemas of ``lmroute guard train`` (conf/guard_train.yaml + conf/guard_train/).

Groups: data, model, trainer, thresholds, export (under conf/guard_train/), and the
router's ``logger`` group (conf/logger). Required fields are ``???``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from train.config import LoggerConf


@dataclass
class GuardDataConf:
    """Where the shared data is and how it is split (by group, per source)."""

    root: str = MISSING
    val: float = 0.15
    test: float = 0.15
    split_seed: int = 0
    # sources whose texts train the tagger as all-O (PII-free) negatives
    tag_negatives: list[str] = field(default_factory=list)


@dataclass
class GuardModelConf:
    """``GuardNet`` sizes, the static featurizer it reuses, and the windows."""

    hidden: int = 64
    conv_layers: int = 3
    token_dim: int = 16
    ngram_buckets: int = 65536
    ngram_dim: int = 32
    dropout: float = 0.1
    wide_buckets: int = 262144
    static_dim: int = 256
    sif_a: float = 1e-3
    window: int = 128
    stride: int = 96
    # blend weights of the character n-gram scorer tried on validation (train.guard_ngram);
    # empty: no n-gram scorer
    ngram_weights: list[float] = field(default_factory=list)


@dataclass
class GuardTrainerConf:
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    samples_per_epoch: int = 8000
    tag_weight: float = 1.0
    seed: int = 0
    ensemble: int = 1  # > 1: nets of seeds seed, seed+1, ... averaged in one graph
    threads: int = 2
    source_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class GuardThresholdConf:
    """Target false-positive rates (train.guard_calibrate): ``fpr`` per operating point on
    each benign traffic set; ``hard_fpr`` per category and operating point on the small
    trigger-word sets (deepset benign, hard_benign)."""

    fpr: dict[str, float] = field(default_factory=lambda: {
        "strict": 0.03, "balanced": 0.01, "permissive": 0.002})
    hard_fpr: dict[str, dict[str, float]] = field(default_factory=dict)
    # per operating point, the most tagger spans per benign validation text (traffic
    # sets) a tag threshold may produce; empty = no cap
    tag_benign_spans: dict[str, float] = field(default_factory=dict)


@dataclass
class GuardExportConf:
    out_dir: str = MISSING
    int8: bool = True
    parity_samples: int = 64


@dataclass
class GuardTrainConf:
    data: GuardDataConf = MISSING
    model: GuardModelConf = MISSING
    trainer: GuardTrainerConf = MISSING
    thresholds: GuardThresholdConf = MISSING
    export: GuardExportConf = MISSING
    logger: LoggerConf = MISSING
    runs_dir: str = "runs"


def register_guard_configs() -> None:
    from train.config import register_configs

    register_configs()  # the logger group's schema
    cs = ConfigStore.instance()
    cs.store(name="guard_train_schema", node=GuardTrainConf)
    for group, node in (("data", GuardDataConf), ("model", GuardModelConf),
                        ("trainer", GuardTrainerConf), ("thresholds", GuardThresholdConf),
                        ("export", GuardExportConf)):
        cs.store(group=f"guard_train/{group}", name=f"{group}_schema", node=node)
