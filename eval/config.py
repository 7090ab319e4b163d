"""Typed configuration of ``lmroute eval`` (the Hydra schema; plain dataclasses).

``eval.cli`` registers ``EvalConfig`` in Hydra's ConfigStore as ``eval_schema`` and turns
the composed config into an ``EvalConfig`` instance with ``OmegaConf.to_object``; library
code only ever sees these dataclasses. ``???`` marks required fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from router_model.reward import RewardWeights

# the ``logger`` group is shared with ``lmroute train``: one schema class for both, or
# Hydra refuses to merge two same-named schemas in one process
from train.config import LoggerConf


@dataclass
class WeightsConf:
    """The trade-off the metrics are computed under (USD, ms, J)."""

    w_cost: float = 0.0
    w_latency: float = 0.0
    w_energy: float = 0.0
    max_latency_ms: float = math.inf
    max_cost_usd: float = math.inf

    def to_weights(self) -> RewardWeights:
        return RewardWeights(
            self.w_cost, self.w_latency, self.w_energy, self.max_latency_ms, self.max_cost_usd
        )


@dataclass
class CurveConf:
    """w_cost grid of the cost-quality curves: 0 plus a log-spaced grid.

    ``w_min`` / ``w_max`` null = automatic from the single models' mean costs:
    0.01 / max cost .. 10 / min positive cost.
    """

    n_points: int = 30
    w_min: float | None = None
    w_max: float | None = None


@dataclass
class BootstrapConf:
    n_boot: int = 1000
    seed: int = 0
    alpha: float = 0.05


@dataclass
class BaselinesConf:
    """Baselines fitted on ``train_log`` (knn, task_prior, cheapest) plus random/oracle."""

    knn_k: int = 10
    seed: int = 0
    names: list[str] = field(
        default_factory=lambda: ["random", "cheapest", "knn", "task_prior", "oracle"]
    )


@dataclass
class OPEConf:
    tiny_propensity: float = 0.01
    n_folds: int = 2




@dataclass
class EvalConfig:
    """``lmroute eval`` settings. ``router`` and ``test_log`` are required."""

    router: str = "???"
    test_log: str = "???"
    train_log: str | None = None
    baseline_router: str | None = None
    out_dir: str = "runs/eval"
    weights: WeightsConf = field(default_factory=WeightsConf)
    curve: CurveConf = field(default_factory=CurveConf)
    bootstrap: BootstrapConf = field(default_factory=BootstrapConf)
    baselines: BaselinesConf = field(default_factory=BaselinesConf)
    ope: OPEConf = field(default_factory=OPEConf)
    gate_margin: float = 0.0
    quality_frac: float = 0.95
    min_slice: int = 20
    max_requests: int | None = None
    latency_samples: int = 200
    logger: LoggerConf = field(default_factory=LoggerConf)
