"""What gets evaluated: anything that chooses a model per request under given weights.

``RouterCandidate`` wraps an exported artifact (``router_model.runtime.Router``);
``PolicyCandidate`` wraps a fitted ``Policy`` with the evaluation features. Both answer
for the fixed list of evaluation requests they were built with.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from data.matrix import OUTCOMES
from router_model.policies.base import Policy, Predictions, argmax_utility
from router_model.reward import RewardWeights

log = logging.getLogger(__name__)


class Candidate(Protocol):
    """A routing policy bound to n evaluation requests, action space ``models``."""

    models: list[str]

    def choose(self, w: RewardWeights) -> np.ndarray:
        """(n,) int64 chosen model index per request."""
        ...

    def probs(self, w: RewardWeights) -> np.ndarray:
        """(n, M) probability of each model per request."""
        ...


class PolicyCandidate:
    """A fitted ``Policy`` with the evaluation features X (n, d) and tasks (n,)."""

    def __init__(self, policy: Policy, X: np.ndarray, tasks: np.ndarray | None = None) -> None:
        self.policy, self.X, self.tasks = policy, X, tasks
        self.models = list(policy.models_)
        self._pred: Predictions | None = None

    def choose(self, w: RewardWeights) -> np.ndarray:
        if type(self.policy).select is not Policy.select:  # custom rule (random, cheapest...)
            return self.policy.select(self.X, w, tasks=self.tasks)
        if self._pred is None:  # argmax of predicted utility: predict once, reuse per w
            self._pred = self.policy.predict(self.X, self.tasks)
        return argmax_utility(self._pred, w)

    def probs(self, w: RewardWeights) -> np.ndarray:
        return self.policy.action_probs(self.X, w, tasks=self.tasks)


class RouterCandidate:
    """An exported router artifact evaluated on a fixed list of texts.

    ``router`` is a ``router_model.runtime.Router`` (typed loosely so this module imports
    without onnxruntime). Choices are the ONNX graph's ``choice`` output. For a sweep over
    weights, the graph's per-model predictions (quality, cost, latency, energy) are read
    once and the argmax of the linear utility is taken in numpy, but only after checking
    that this reproduces the graph's own choices at two different weights on at least
    ``LINEAR_AGREEMENT`` of the requests (float32 near-ties); otherwise every weight
    point runs the graph.
    """

    LINEAR_AGREEMENT = 0.995

    def __init__(self, router: Any, texts: list[str], batch_size: int = 256) -> None:
        self.router, self.texts, self.batch_size = router, list(texts), batch_size
        self.models = list(router.models)
        self._cache: dict[tuple[float, ...], np.ndarray] = {}
        self._pred: Predictions | None = None
        self.linear_agreement: float | None = None

    def _run(self, w: RewardWeights) -> dict[str, np.ndarray]:
        parts = [
            self.router.scores(self.texts[s : s + self.batch_size], w)
            for s in range(0, len(self.texts), self.batch_size)
        ]
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}

    def _graph_choice(self, w: RewardWeights) -> np.ndarray:
        key = tuple(float(v) for v in w.as_array())
        if key not in self._cache:
            out = self._run(w)
            self._cache[key] = out["choice"].astype(np.int64)
            if self._pred is None and all(k in out for k in OUTCOMES):
                self._pred = Predictions(*(out[k].astype(np.float64) for k in OUTCOMES))
        return self._cache[key]

    def _linear_ok(self, w: RewardWeights) -> bool:
        """Whether argmax of the linear utility of the graph's predictions matches the graph."""
        if self.linear_agreement is None:
            probes = (w, replace(w, w_cost=max(10 * w.w_cost, 100.0)))
            graph = [self._graph_choice(p) for p in probes]  # also reads the predictions
            pred = self._pred
            self.linear_agreement = (
                0.0
                if pred is None
                else min(
                    float(np.mean(g == argmax_utility(pred, p)))
                    for g, p in zip(graph, probes, strict=True)
                )
            )
            log.info(
                "router: linear-utility choices agree with the graph on %.2f%% of requests",
                100 * self.linear_agreement,
            )
        return self.linear_agreement >= self.LINEAR_AGREEMENT

    def choose(self, w: RewardWeights) -> np.ndarray:
        key = tuple(float(v) for v in w.as_array())
        if key in self._cache:
            return self._cache[key]
        if self._linear_ok(w) and self._pred is not None:
            return argmax_utility(self._pred, w)
        return self._graph_choice(w)

    def probs(self, w: RewardWeights) -> np.ndarray:
        a = self.choose(w)
        p = np.zeros((len(a), len(self.models)))
        p[np.arange(len(a)), a] = 1.0
        return p

    def embed(self) -> np.ndarray:
        """(n, d) float32 query embeddings of the evaluation texts (the ONNX ``features``)."""
        return np.concatenate(
            [
                np.asarray(self.router.embed(self.texts[s : s + self.batch_size]))
                for s in range(0, len(self.texts), self.batch_size)
            ]
        )


def decision_latency_us(router: Any, texts: list[str], w: RewardWeights) -> dict[str, float]:
    """Single-request decision time (raw text -> choice, tokenization included) in
    microseconds, one request at a time: p50 / p99 of the router's own ``Decision.micros``
    and of the wall clock around ``router.route`` (adds Python call overhead)."""
    own, wall = [], []
    for t in texts:
        t0 = time.perf_counter()
        d = router.route(t, w)
        wall.append((time.perf_counter() - t0) * 1e6)
        own.append(float(d.micros))
    a, b = np.array(own), np.array(wall)
    return {
        "p50": float(np.median(a)),
        "p99": float(np.quantile(a, 0.99)),
        "wall_p50": float(np.median(b)),
        "wall_p99": float(np.quantile(b, 0.99)),
        "n": float(len(a)),
    }
