"""Typed configuration of ``lmroute eval suite`` (Hydra schema ``suite_schema``).

The router's policy and featurizer come from the same config groups as ``lmroute train``
(``policy``, ``featurizer``; their defaults live in conf/policy/*.yaml and the schemas of
``train.config``), so the suite evaluates exactly what training would ship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from train.config import FeaturizerConf

# the baselines a suite run compares by default (eval/suite/methods.py defines them;
# conf/suite.yaml lists the same)
DEFAULT_BASELINES = ("best_single", "task_prior", "inferred_task_prior", "knn_shrunk",
                     "knn_inferred", "logistic", "mlp_minilm")


@dataclass
class SuiteConfig:
    """``lmroute eval suite`` settings (see conf/suite.yaml)."""

    shared_data: str = MISSING
    out_dir: str = "runs/suite"
    datasets: list[str] = field(default_factory=lambda: ["routerbench", "routellm",
                                                         "dcrouter"])
    n_splits: int = 5
    seed: int = 0
    val_fraction: float = 0.15
    max_requests: int | None = None
    baselines: list[str] = field(default_factory=lambda: list(DEFAULT_BASELINES))
    baseline_features: str = "minilm"
    variants: list[str] = field(default_factory=list)
    n_boot: int = 1000
    n_points: int = 40
    quality_frac: float = 0.95
    part: str = "test"
    threads: int = 2
    cascade: bool = True  # RouterBench: the cascade with a learned verifier
    onboard_model: str = "mistralai/mixtral-8x7b-chat"  # RouterBench onboarding; "" = off
    tail_tokens: int = 0  # the static featurizer's prompt-tail view (train: TAIL_TOKENS)
    policy: Any = MISSING
    trainer: dict[str, int] = field(default_factory=lambda: {"seed": 0})  # policy's ${..}
    featurizer: FeaturizerConf = field(default_factory=FeaturizerConf)
