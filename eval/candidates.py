"""What gets evaluated: anything that chooses a model per request under given weights.

``RouterCandidate`` wraps an exported artifact (``router_model.runtime.Router``);
``PolicyCandidate`` wraps a fitted ``Policy`` with the evaluation features. Both answer
for the fixed list of evaluation requests they were built with.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from router_model.policies.base import Policy, Predictions, argmax_utility
from router_model.reward import RewardWeights


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
    without onnxruntime). Choices come from the ONNX graph's ``choice`` output.
    """

    def __init__(self, router: Any, texts: list[str], batch_size: int = 256) -> None:
        self.router, self.texts, self.batch_size = router, list(texts), batch_size
        self.models = list(router.models)
        self._cache: dict[tuple[float, ...], np.ndarray] = {}

    def choose(self, w: RewardWeights) -> np.ndarray:
        key = tuple(float(v) for v in w.as_array())
        if key not in self._cache:
            parts = [np.asarray(self.router.scores(self.texts[s:s + self.batch_size], w)["choice"])
                     for s in range(0, len(self.texts), self.batch_size)]
            self._cache[key] = np.concatenate(parts).astype(np.int64)
        return self._cache[key]

    def probs(self, w: RewardWeights) -> np.ndarray:
        a = self.choose(w)
        p = np.zeros((len(a), len(self.models)))
        p[np.arange(len(a)), a] = 1.0
        return p

    def embed(self) -> np.ndarray:
        """(n, d) float32 query embeddings of the evaluation texts (the ONNX ``features``)."""
        return np.concatenate([np.asarray(self.router.embed(self.texts[s:s + self.batch_size]))
                               for s in range(0, len(self.texts), self.batch_size)])


def decision_latency_us(router: Any, texts: list[str], w: RewardWeights) -> dict[str, float]:
    """End-to-end single-request decision time (raw text -> choice) in microseconds,
    one request at a time, measured by wall clock around ``router.route``."""
    times = []
    for t in texts:
        t0 = time.perf_counter()
        router.route(t, w)
        times.append((time.perf_counter() - t0) * 1e6)
    arr = np.array(times)
    return {"p50": float(np.median(arr)), "p99": float(np.quantile(arr, 0.99)),
            "n": float(len(arr))}
