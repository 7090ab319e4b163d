"""A stand-in for ``router_model.runtime.Router`` in eval tests: hashed bag-of-words
embeddings and a fitted ``Policy`` behind the same small API (models, embed, scores,
route), so the eval pipeline runs without an ONNX artifact."""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence

import numpy as np

from data.matrix import FullInfo
from router_model.decision import Decision
from router_model.policies import baselines as _baselines  # noqa: F401  (registers)
from router_model.policies import make_policy
from router_model.reward import RewardWeights

DIM = 64


def embed(texts: Sequence[str]) -> np.ndarray:
    """(n, DIM) float32 L2-normalised hashed word counts."""
    X = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            X[i, zlib.crc32(w.encode()) % DIM] += 1.0
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-9)


class FakeRouter:
    """``outputs=True`` also returns the per-model predictions, like the ONNX graph."""

    def __init__(
        self, train: FullInfo, policy: str = "knn", outputs: bool = False, **kw: object
    ) -> None:
        self.models = list(train.models)
        self.outputs = outputs
        self.policy = make_policy(policy, **kw).fit(embed(list(train.queries)), train)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return embed(texts)

    def scores(
        self,
        texts: Sequence[str],
        weights: RewardWeights | None = None,
        allowed: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        w = weights or RewardWeights()
        X = embed(texts)
        out = {"choice": self.policy.select(X, w), "features": X}
        if self.outputs:
            out |= vars(self.policy.predict(X))
        return out

    def route(self, text: str, weights: RewardWeights | None = None) -> Decision:
        t0 = time.perf_counter()
        i = int(self.scores([text], weights)["choice"][0])
        return Decision(self.models[i], i, 1.0, (time.perf_counter() - t0) * 1e6, "argmax")
