"""THE defaults of the learned policies' hyper-parameters (one place).

``SupervisedPolicy`` / ``OffPolicyPolicy`` take their ``__init__`` defaults from here,
``outcome_net.FitConfig`` extends ``OutcomeHParams``, and the Hydra schemas
``train.config.SupervisedConf`` / ``OffPolicyConf`` inherit these dataclasses, so
conf/policy/*.yaml only says what differs (nothing, today). Values: chosen on RouterBench
validation splits (a small, strongly regularised body; see docs/routing.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OutcomeHParams:
    """The outcome ensemble (``policies.outcome_net``) and its optimisation."""

    hidden: int = 64
    depth: int = 1
    dropout: float = 0.3
    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    n_ensemble: int = 5
    regression_weight: float = 0.5
    seed: int = 0


@dataclass
class OffPolicyHParams(OutcomeHParams):
    """The off-policy learner: estimator ("ips" | "dr") and the importance-weight cap."""

    n_ensemble: int = 3
    estimator: str = "dr"
    clip: float = 20.0


SUPERVISED = OutcomeHParams()
OFF_POLICY = OffPolicyHParams()
