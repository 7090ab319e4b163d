"""Typed schemas of the ``lmroute train`` config groups (registered in Hydra's ConfigStore).

Groups: data, featurizer, policy, reward, trainer, export, logger (+ experiment presets
in conf/experiment). Required fields are ``???``. Library code receives these
dataclasses (via ``OmegaConf.to_object``), never a DictConfig.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from router_model.policies.hparams import OffPolicyHParams, OutcomeHParams


@dataclass
class DataConf:
    """Where the logs come from and how validation is carved out.

    ``_target_`` names the source class (``train/data_sources.py``): RouterBenchSource
    (CSV dir), LogsSource (canonical parquet/jsonl/csv files), SyntheticSource
    (``synthetic_tuples``), GatewaySource (gateway log dirs joined with feedback).
    feedback: "full" (one row per request x model) or "bandit" (one row per request).
    """

    _target_: str = MISSING
    paths: list[str] = field(default_factory=list)
    feedback: str = "full"
    val_fraction: float = 0.2
    split_seed: int = 0
    max_requests: int = 0  # 0 = all
    synthetic_tuples: int = 0
    profiles: str = ""  # serving-profile YAML; "" = data.profiles default
    require_feedback: bool = True  # gateway logs: only rows graded by /v1/feedback
    logging_policy: str | None = None  # gateway logs: only this router policy's rows
    models: list[str] = field(default_factory=list)  # the action set; [] = those in the log


@dataclass
class FeaturizerConf:
    """Schema of the featurizer group; ``_target_`` names a
    ``router_model.featurizer_spec.FeaturizerSpec`` (StaticSpec, TransformerSpec)."""

    _target_: str = MISSING
    dim: int = 256
    max_tokens: int = 512
    sif_a: float = 1e-3  # 0 = unweighted mean
    batch_size: int = 512


@dataclass
class PolicyConf:
    """Base of the policy group: ``_target_`` names the Policy class."""

    _target_: str = MISSING


@dataclass
class SupervisedConf(PolicyConf, OutcomeHParams):
    """Defaults: ``router_model.policies.hparams`` (the one place)."""

    _target_: str = "router_model.policies.supervised.SupervisedPolicy"


@dataclass
class OffPolicyConf(PolicyConf, OffPolicyHParams):
    """Defaults: ``router_model.policies.hparams`` (the one place)."""

    _target_: str = "router_model.policies.offpolicy.OffPolicyPolicy"


@dataclass
class RewardConf:
    """Validation sweep and the shipping target."""

    w_costs: list[float] = field(default_factory=lambda: [0.0, 1.0, 2.0, 5.0, 10.0])
    reference_model: str = ""  # "" = best single model on the training split
    target_fraction: float = 0.95
    baselines: list[str] = field(default_factory=lambda: ["knn", "task_prior"])


@dataclass
class TrainerConf:
    seed: int = 0
    threads: int = 2
    # stream: the log streams through `datasets` in bounded memory, features go to disk by
    # chunks, one process or several under torchrun (train/stream_pipeline.py, docs/scale.md)
    stream: bool = False
    chunk_requests: int = 65_536  # training requests per feature chunk (memory ~ one chunk)
    batch_rows: int = 65_536  # log rows per streamed Arrow batch
    sample_requests: int = 20_000  # training sample: SIF weights, baselines, int8 calibration
    max_val_requests: int = 20_000  # held-out requests kept for validation and export
    work_dir: str = ""  # feature chunks ("" = <export.out_dir>.work; shared by all nodes)


@dataclass
class ExportConf:
    out_dir: str = MISSING
    exporter: str = "dynamo"  # "dynamo" | "legacy"
    int8: bool = True
    calibration_size: int = 256
    parity_samples: int = 64


@dataclass
class LoggerConf:
    """Schema of the logger group; ``_target_`` names a tracker factory
    (``train.tracking.MlflowTracker.from_group`` or ``train.tracking.NullTracker``), called
    with ``runs_dir`` and ``run_name`` by the CLI. tracking_uri "" =
    sqlite:///<runs>/mlflow.db."""

    _target_: str = MISSING
    tracking_uri: str = ""
    experiment: str = "lmroute-train"
    registered_model: str = "lmroute-router"


@dataclass
class TrainConf:
    data: DataConf = MISSING
    featurizer: FeaturizerConf = MISSING
    policy: Any = MISSING
    reward: RewardConf = field(default_factory=RewardConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    export: ExportConf = MISSING
    logger: LoggerConf = MISSING
    runs_dir: str = "runs"


def register_configs() -> None:
    """Register the schemas so YAML files in conf/ are validated against them, and the
    ``${lmroute_data:...}`` resolver the data paths use."""
    from data.locate import register_resolver

    register_resolver()
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConf)
    for group, name, node in (
        ("data", "data_schema", DataConf), ("featurizer", "featurizer_schema", FeaturizerConf),
        ("policy", "supervised_schema", SupervisedConf),
        ("policy", "offpolicy_schema", OffPolicyConf),
        ("reward", "reward_schema", RewardConf), ("trainer", "trainer_schema", TrainerConf),
        ("export", "export_schema", ExportConf), ("logger", "logger_schema", LoggerConf),
    ):
        cs.store(group=group, name=name, node=node)
