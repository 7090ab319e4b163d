"""Typed schemas of ``lmroute cache train`` (conf/cache_train.yaml + conf/cache_train/).

Groups: cache_train/data, cache_train/model, cache_train/trainer, cache_train/calibrate,
cache_train/export, and the shared logger group (conf/logger). Required fields ``???``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from train.cache_fit import FitConf
from train.config import LoggerConf


@dataclass
class CacheDataConf:
    """QQP pairs file, the group split, and how many traps per category and split."""

    qqp_path: str = MISSING
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    split_seed: int = 0
    traps_train: int = 3000
    traps_val: int = 600
    traps_test: int = 600
    max_pairs: int = 0  # 0 = all (a smaller number for quick runs and tests)
    closure_per_group: int = 0  # > 0: add up to this many implied pairs per group (train only)
    max_train_pairs: int = 0  # > 0: a seeded subsample of the training split (before traps)


@dataclass
class VerifierModelConf:
    """The pair classifier. ``kind``: ``esim`` (the router's distilled MiniLM token table +
    an ESIM head; ``table_dim``, ``hidden``, ``train_table``) or ``cross`` (MiniLM
    fine-tuned as a cross-encoder, ``train.cache_cross_model``; those three unused)."""

    kind: str = "esim"
    table_dim: int = 256
    hidden: int = 128
    train_table: bool = True
    max_tokens: int = 128


@dataclass
class CalibrateConf:
    """The operating point: false-hit targets on validation QQP negatives and traps."""

    target_false_hit_rate: float = 0.015
    target_trap_false_hit_rate: float = 0.04


@dataclass
class CacheExportConf:
    out_dir: str = MISSING
    exporter: str = "dynamo"
    parity_samples: int = 64


@dataclass
class CacheTrainConf:
    data: CacheDataConf = MISSING
    model: VerifierModelConf = field(default_factory=VerifierModelConf)
    trainer: FitConf = field(default_factory=FitConf)
    calibrate: CalibrateConf = field(default_factory=CalibrateConf)
    export: CacheExportConf = MISSING
    logger: LoggerConf = MISSING
    runs_dir: str = "runs"


def register_configs() -> None:
    from data.locate import register_resolver

    register_resolver()  # ${lmroute_data:...} in conf/cache_train/data
    cs = ConfigStore.instance()
    cs.store(name="cache_train_schema", node=CacheTrainConf)
    for group, name, node in (
            ("cache_train/data", "data_schema", CacheDataConf),
            ("cache_train/model", "model_schema", VerifierModelConf),
            ("cache_train/trainer", "trainer_schema", FitConf),
            ("cache_train/calibrate", "calibrate_schema", CalibrateConf),
            ("cache_train/export", "export_schema", CacheExportConf),
            ("logger", "logger_schema", LoggerConf)):
        cs.store(group=group, name=name, node=node)
