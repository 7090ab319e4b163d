"""Turn full-information logs into bandit logs under a logging policy, with EXACT
propensities (the probability the policy gave the chosen model on that request).

Policies (over the models that have an outcome for the request; K = their number):
- ``uniform``: p = 1/K.
- ``epsilon_greedy`` around a target (a model name, ``cheapest`` = lowest mean cost,
  ``best_prior`` = highest prior score): p = 1 - eps + eps/K for the target, eps/K else.
  When the named target has no outcome for a request, the best-prior available model is
  the target for that request.
- ``softmax``: p ∝ exp(score / temperature). Scores are per-request (n, M) arrays given
  to the library, or the per-model PRIOR: mean quality - cost_weight * mean cost / max
  mean cost (means over the log given; pass a train split to avoid peeking at test).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.matrix import BanditLog, FullInfo
from data.schema import KEY

POLICIES = ("uniform", "epsilon_greedy", "softmax")


@dataclass(frozen=True)
class LoggingPolicy:
    """A stochastic logging policy.

    Attributes:
        kind: one of ``POLICIES``.
        epsilon: exploration rate of epsilon_greedy, in [0, 1].
        around: epsilon_greedy target: a model name, "cheapest" or "best_prior".
        temperature: softmax temperature (> 0).
        cost_weight: weight of normalised mean cost in the prior score.
        scores: optional (n, M) per-request softmax scores (library use only).
    """

    kind: str = "uniform"
    epsilon: float = 0.1
    around: str = "best_prior"
    temperature: float = 0.1
    cost_weight: float = 0.1
    scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in POLICIES:
            raise ValueError(f"--policy: expected one of {', '.join(POLICIES)}, got {self.kind!r}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"--epsilon: expected a value in [0, 1], got {self.epsilon}")
        if self.temperature <= 0:
            raise ValueError(f"--temperature: expected > 0, got {self.temperature}")

    @property
    def name(self) -> str:
        """The string logged in ``logging_policy``."""
        if self.kind == "epsilon_greedy":
            return json.dumps({"kind": self.kind, "epsilon": self.epsilon, "around": self.around})
        if self.kind == "softmax":
            src = "per_request" if self.scores is not None else "prior"
            return json.dumps(
                {
                    "kind": self.kind,
                    "temperature": self.temperature,
                    "scores": src,
                    "cost_weight": self.cost_weight,
                }
            )
        return json.dumps({"kind": self.kind})


def prior_scores(full: FullInfo, cost_weight: float = 0.1) -> np.ndarray:
    """(M,) mean quality - cost_weight * mean cost / max mean cost, NaN-aware."""
    q = np.nanmean(full.quality, axis=0)
    c = np.nanmean(full.cost_usd, axis=0)
    return np.nan_to_num(q - cost_weight * c / max(float(np.nanmax(c)), 1e-12), nan=-np.inf)


def _target(full: FullInfo, policy: LoggingPolicy, avail: np.ndarray) -> np.ndarray:
    prior = prior_scores(full, policy.cost_weight)
    fallback = np.argmax(np.where(avail, prior[None, :], -np.inf), axis=1)
    if policy.around == "best_prior":
        return fallback
    if policy.around == "cheapest":
        mean_cost = np.nan_to_num(np.nanmean(full.cost_usd, axis=0), nan=np.inf)
        return np.argmin(np.where(avail, mean_cost[None, :], np.inf), axis=1)
    if policy.around not in full.models:
        raise ValueError(
            f"--around: expected cheapest, best_prior or a model in {full.models}, "
            f"got {policy.around!r}"
        )
    k = full.models.index(policy.around)
    return np.where(avail[:, k], k, fallback)


def action_probs(full: FullInfo, policy: LoggingPolicy) -> np.ndarray:
    """(n, M) probabilities; rows sum to 1 over models with an outcome, 0 elsewhere."""
    avail = ~np.isnan(full.quality)
    if not avail.any(axis=1).all():
        raise ValueError("a request has no model with an outcome; cannot log it")
    k = avail.sum(axis=1, keepdims=True)
    if policy.kind == "uniform":
        return avail / k
    if policy.kind == "epsilon_greedy":
        p = avail * (policy.epsilon / k)
        rows = np.arange(len(full))
        p[rows, _target(full, policy, avail)] += 1.0 - policy.epsilon
        return p
    scores = (
        policy.scores
        if policy.scores is not None
        else np.broadcast_to(prior_scores(full, policy.cost_weight), avail.shape)
    )
    if scores.shape != avail.shape:
        raise ValueError(f"scores: expected shape {avail.shape}, got {scores.shape}")
    z = np.where(avail, scores / policy.temperature, -np.inf)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) int64 actions drawn from each row of ``probs`` (inverse CDF, vectorised)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=1), probs.shape[1] - 1).astype(np.int64)


def simulate_bandit(full: FullInfo, policy: LoggingPolicy, rng: np.random.Generator) -> BanditLog:
    """One logged action per request with its exact propensity and outcomes."""
    probs = action_probs(full, policy)
    action = sample_actions(probs, rng)
    rows = np.arange(len(full))
    return BanditLog(
        full.request_ids,
        full.queries,
        full.tasks,
        list(full.models),
        action,
        probs[rows, action],
        full.quality[rows, action],
        full.cost_usd[rows, action],
        full.latency_ms[rows, action],
        full.energy_j[rows, action],
        policy.name,
    )


def simulate_frame(
    df: pd.DataFrame, policy: LoggingPolicy, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Canonical bandit frame (one row per request, the chosen model's original row with
    propensity, logging_policy, source="simulated") and the (n, M) action probabilities."""
    dup = int(df.duplicated(list(KEY)).sum())
    if dup:
        raise ValueError(f"request_id,model: {dup} duplicate row(s); run `lmroute data validate`")
    full = FullInfo.from_frame(df)
    log_ = simulate_bandit(full, policy, np.random.default_rng(seed))
    chosen = pd.DataFrame(
        {
            "request_id": log_.request_ids,
            "model": np.asarray(full.models, dtype=object)[log_.action],
            "propensity": log_.propensity,
        }
    )
    out = chosen.merge(
        df.drop(columns=["propensity"]), on=list(KEY), how="left", validate="one_to_one"
    )
    out = out.assign(logging_policy=policy.name, source="simulated")[list(df.columns)]
    return out, action_probs(full, policy)
