"""Off-policy estimates of a candidate policy's value from a bandit log.

Notation (as in the Open Bandit Pipeline, Saito et al. 2021): n logged rounds
(x_i, a_i, r_i, p_i) with p_i = pi_0(a_i | x_i) the logging propensity; the candidate
pi_e(a | x); a reward model q_hat(x, a); importance weight w_i = pi_e(a_i|x_i) / p_i.

- DM:    V = 1/n sum_i sum_a pi_e(a|x_i) q_hat(x_i, a)
- IPS:   V = 1/n sum_i w_i r_i
- SNIPS: V = sum_i w_i r_i / sum_i w_i
- DR:    V = 1/n sum_i [ sum_a pi_e(a|x_i) q_hat(x_i, a) + w_i (r_i - q_hat(x_i, a_i)) ]

Each estimator is one class behind ``Estimator`` + ``register_estimator`` (the Open Bandit
Pipeline's shape): adding one does not edit the others. Intervals: percentile bootstrap
over rounds (SNIPS re-normalised in every resample).
Effective sample size of the weights: (sum w)^2 / sum w^2.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import numpy as np

from eval.bootstrap import Bootstrap, Interval


@dataclass
class BanditData:
    """Inputs of the estimators.

    Attributes:
        action: (n,) int64 logged action indices.
        propensity: (n,) float64 logging propensities in (0, 1].
        reward: (n,) float64 observed rewards.
        target_probs: (n, M) the candidate's action probabilities (rows sum to 1).
        reward_hat: (n, M) reward-model predictions (cross-fitted on the log).
        models: M action names (for warnings).
    """

    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    target_probs: np.ndarray
    reward_hat: np.ndarray
    models: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n, M = self.target_probs.shape
        for name in ("action", "propensity", "reward"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: expected {n} rows, got {len(getattr(self, name))}")
        if self.reward_hat.shape != (n, M):
            raise ValueError(f"reward_hat: expected shape {(n, M)}, got {self.reward_hat.shape}")
        p = self.propensity
        if not (np.all(np.isfinite(p)) and np.all((p > 0) & (p <= 1))):
            bad = int(np.flatnonzero(~(np.isfinite(p) & (p > 0) & (p <= 1)))[0])
            raise ValueError(f"propensity: row {bad} is {p[bad]!r}, expected a value in (0, 1]")
        if not np.all(np.isfinite(self.reward)):
            bad = int(np.flatnonzero(~np.isfinite(self.reward))[0])
            raise ValueError(f"reward: row {bad} is not finite (ungraded quality?)")
        if not self.models:
            self.models = [str(m) for m in range(M)]


def importance_weights(d: BanditData) -> np.ndarray:
    """(n,) w_i = pi_e(a_i | x_i) / p_i."""
    return d.target_probs[np.arange(len(d.action)), d.action] / d.propensity


class Estimator(ABC):
    """One off-policy estimator (the Open Bandit Pipeline's shape): a registered class, so
    adding one never edits the others. Most are a mean of per-round terms
    (``round_values``); ratio estimators override ``interval`` too."""

    name: ClassVar[str] = ""
    mean_of_rounds: ClassVar[bool] = True

    @abstractmethod
    def round_values(self, d: BanditData, w: np.ndarray) -> np.ndarray:
        """(n,) per-round terms; w (n,) = ``importance_weights(d)``."""

    def interval(self, d: BanditData, w: np.ndarray, boot: Bootstrap) -> Interval:
        """The estimate with its bootstrap interval (default: mean of the round terms)."""
        return boot.mean_interval(self.round_values(d, w))


ESTIMATOR_REGISTRY: dict[str, type[Estimator]] = {}
E = TypeVar("E", bound=type[Estimator])


def register_estimator(name: str) -> Callable[[E], E]:
    """Class decorator: add an estimator to ``estimate``'s output under ``name``."""

    def deco(cls: E) -> E:
        if name in ESTIMATOR_REGISTRY:
            raise ValueError(f"estimator {name!r} registered twice")
        cls.name = name
        ESTIMATOR_REGISTRY[name] = cls
        return cls

    return deco


@register_estimator("dm")
class DirectMethod(Estimator):
    """V = 1/n sum_i sum_a pi_e(a|x_i) q_hat(x_i, a)."""

    def round_values(self, d: BanditData, w: np.ndarray) -> np.ndarray:
        return (d.target_probs * d.reward_hat).sum(axis=1)


@register_estimator("ips")
class InverseProbabilityWeighting(Estimator):
    """V = 1/n sum_i w_i r_i."""

    def round_values(self, d: BanditData, w: np.ndarray) -> np.ndarray:
        return w * d.reward


@register_estimator("snips")
class SelfNormalizedIPS(Estimator):
    """V = sum_i w_i r_i / sum_i w_i (a ratio: re-normalised in every resample)."""

    mean_of_rounds = False

    def round_values(self, d: BanditData, w: np.ndarray) -> np.ndarray:
        return w * d.reward  # the numerator's terms

    def interval(self, d: BanditData, w: np.ndarray, boot: Bootstrap) -> Interval:
        num = self.round_values(d, w)
        point = float(np.sum(num) / np.sum(w)) if np.sum(w) > 0 else float("nan")
        return boot.interval(point, boot.ratio_means(num, w))


@register_estimator("dr")
class DoublyRobust(Estimator):
    """V = 1/n sum_i [ sum_a pi_e(a|x_i) q_hat(x_i, a) + w_i (r_i - q_hat(x_i, a_i)) ]."""

    def round_values(self, d: BanditData, w: np.ndarray) -> np.ndarray:
        rows = np.arange(len(d.action))
        dm = DirectMethod().round_values(d, w)
        return dm + w * (d.reward - d.reward_hat[rows, d.action])


ESTIMATORS = tuple(ESTIMATOR_REGISTRY)


def round_values(d: BanditData) -> dict[str, np.ndarray]:
    """Per-round terms whose mean is the estimate, per mean-of-rounds estimator (dm, ips,
    dr, ...), plus the importance weights ``w`` (n,) each."""
    w = importance_weights(d)
    out = {name: cls().round_values(d, w) for name, cls in ESTIMATOR_REGISTRY.items()
           if cls.mean_of_rounds}
    out["w"] = w
    return out


def effective_sample_size(w: np.ndarray) -> float:
    """(sum w)^2 / sum w^2 for importance weights w (n,); 0 when all weights are 0."""
    s2 = float(np.sum(w**2))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


@dataclass
class OPEResult:
    """Estimates with intervals, diagnostics and human-readable warnings."""

    estimates: dict[str, Interval]
    n: int
    ess: float
    min_propensity: float
    logged_value: float
    warnings: list[str]

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: v.to_dict() for k, v in self.estimates.items()}
        out.update(
            n=self.n,
            ess=self.ess,
            min_propensity=self.min_propensity,
            logged_value=self.logged_value,
            warnings=list(self.warnings),
        )
        return out


def estimate(d: BanditData, boot: Bootstrap, tiny_propensity: float = 0.01) -> OPEResult:
    """DM, IPS, SNIPS and DR of the candidate with bootstrap intervals and diagnostics."""
    w = importance_weights(d)
    est = {name: cls().interval(d, w, boot) for name, cls in ESTIMATOR_REGISTRY.items()}
    ess = effective_sample_size(w)
    res = OPEResult(
        est,
        len(w),
        ess,
        float(np.min(d.propensity)),
        float(np.mean(d.reward)),
        [],
    )
    res.warnings = support_warnings(d, tiny_propensity) + _ess_warning(ess, len(w))
    return res


def support_warnings(d: BanditData, tiny_propensity: float) -> list[str]:
    """Tiny logging propensities; actions the candidate takes that the log never took."""
    out = []
    tiny = d.propensity < tiny_propensity
    if tiny.any():
        out.append(
            f"{int(tiny.sum())} of {len(tiny)} logged propensities are below "
            f"{tiny_propensity:g} (min {d.propensity.min():.2g}): IPS/DR variance is "
            "high"
        )
    taken = np.bincount(d.action, minlength=d.target_probs.shape[1]) > 0
    mass = d.target_probs.mean(axis=0)
    missing = [(d.models[a], mass[a]) for a in np.flatnonzero(~taken) if mass[a] > 0]
    if missing:
        names = ", ".join(f"{m} ({100 * s:.1f}% of candidate traffic)" for m, s in missing)
        out.append(
            f"the logging policy never took {names}: IPS/SNIPS/DR miss those rewards "
            "(biased low without support), DM extrapolates"
        )
    return out


def _ess_warning(ess: float, n: int) -> list[str]:
    if ess < 0.1 * n:
        return [
            f"effective sample size {ess:.0f} is under 10% of the {n} logged rounds: "
            "the candidate differs strongly from the logging policy"
        ]
    return []
