"""When a semantic candidate may answer: the hit-decision base, its registry, two kinds.

- ``cosine``: similarity of the embeddings >= ``threshold`` (the plain baseline).
- ``verifier``: the learned pair classifier (``serve.cache.verifier``) scores each
  candidate whose similarity is >= ``min_similarity`` (a cheap gate: the verifier runs
  only on near candidates); a hit needs probability >= ``threshold`` (by default the
  operating point stored in the artifact's manifest, with its measured false-hit rate).

``judge(query, candidates, sims) -> (k,)`` scores, or -inf where a candidate is out
(below the gate, too long for the verifier). The cache serves the best candidate when
its score reaches ``threshold``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

REGISTRY: dict[str, type[HitDecision]] = {}
T = TypeVar("T", bound="type[HitDecision]")
OUT = float("-inf")


class HitDecision(ABC):
    """Scores semantic candidates; a score >= ``threshold`` is a hit."""

    kind = "base"
    threshold: float

    @abstractmethod
    def judge(self, query: str, candidates: Sequence[str], sims: np.ndarray) -> np.ndarray:
        """(k,) scores of ``candidates`` (stored queries) for ``query``; ``sims`` (k,)
        are their embedding similarities."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "threshold": self.threshold}


def register(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return deco


def make_decision(kind: str, **params: Any) -> HitDecision:
    if kind not in REGISTRY:
        raise ValueError(f"decision.kind: expected one of {sorted(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind](**params)


@register("cosine")
class CosineDecision(HitDecision):
    """Hit when the embedding cosine similarity reaches ``threshold``."""

    def __init__(self, threshold: float) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"decision.threshold: expected a cosine in [-1, 1], got "
                             f"{threshold}")
        self.threshold = float(threshold)

    def judge(self, query: str, candidates: Sequence[str], sims: np.ndarray) -> np.ndarray:
        return np.asarray(sims, dtype=np.float64)


@register("verifier")
class VerifierDecision(HitDecision):
    """The learned verifier on candidates past the similarity gate (see module): at most
    ``max_judged`` of them (0 = all), the nearest first. Stored queries' token ids are
    kept (``IDS_MEMO`` texts, least recently used out) so a popular candidate is
    tokenized once, not on every lookup that meets it."""

    IDS_MEMO = 20_000

    def __init__(self, artifact: str, threshold: float | None = None,
                 min_similarity: float = 0.5, max_judged: int = 0, threads: int = 1) -> None:
        from serve.cache.verifier import Verifier

        self.verifier = Verifier(artifact, threads)
        self.threshold = self.verifier.threshold if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"decision.threshold: expected a probability in [0, 1], got "
                             f"{self.threshold}")
        if max_judged < 0:
            raise ValueError(f"decision.max_judged: expected >= 0 (0 = all), got {max_judged}")
        self.min_similarity = float(min_similarity)
        self.max_judged = int(max_judged)
        self._ids: OrderedDict[str, list[int]] = OrderedDict()

    def _candidate_ids(self, text: str) -> list[int]:
        ids = self._ids.get(text)
        if ids is None:
            ids = self._ids[text] = self.verifier.ids(text)
            if len(self._ids) > self.IDS_MEMO:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(text)
        return ids

    def judge(self, query: str, candidates: Sequence[str], sims: np.ndarray) -> np.ndarray:
        out = np.full(len(candidates), OUT)
        near = sorted((i for i, s in enumerate(sims) if s >= self.min_similarity),
                      key=lambda i: -sims[i])[:self.max_judged or None]
        if not near:
            return out
        q = self.verifier.ids(query)
        if not self.verifier.fits(q):
            return out
        ids = [(i, self._candidate_ids(candidates[i])) for i in near]
        ids = [(i, c) for i, c in ids if self.verifier.fits(c)]
        if ids:
            scores = self.verifier.score_ids(q, [c for _, c in ids])
            out[[i for i, _ in ids]] = scores
        return out

    def describe(self) -> dict[str, Any]:
        op = self.verifier.operating_point
        return {"kind": self.kind, "threshold": self.threshold,
                "min_similarity": self.min_similarity, "max_judged": self.max_judged,
                "manifest_false_hit_rate": op.get("false_hit_rate"),
                "artifact": str(self.verifier.directory)}
