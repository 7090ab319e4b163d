"""Retrieval over a session's older messages: a per-session index (cached by version,
extended in place while the session only grows) and scorers behind one interface.

``bm25`` (Okapi BM25 over lower-cased, stop-worded, lightly stemmed words), ``static``
(cosine of the router's static token embeddings, serve/memory/embeddings.py) and
``hybrid`` (reciprocal-rank fusion of both). Which is the default was decided by
measurement (docs/memory.md). The index is a store of the erased text too: an erasure
purges the session's entry and the verification scan searches what is left.
"""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from serve.memory.errors import InvalidInput
from serve.memory.tokens import TokenCounter
from serve.memory.types import Message, SessionState, StoreScan
from serve.memory.verify import scan_texts
from serve.memory.words import wordset

_WORD = re.compile(r"[a-z0-9]+")
STOP = wordset("""
a an the of to in on and or is are was were be been for with at by from it its as that
this these those i you he she we they me my your his her our their do does did what
which who whom when where how why
""")


def stem(w: str) -> str:
    """A light suffix stripper (plural, -ing, -ed), enough to match paint/painted."""
    if len(w) > 5 and w.endswith("ies"):
        return w[:-3] + "y"
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP]


@dataclass
class SessionIndex:
    """One session's documents: ``ids``/``texts``/``tokens`` (n,), ``terms`` bags,
    ``df`` document frequencies; ``extra``: what a scorer keeps (e.g. token ids)."""

    version: int
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    bags: list[Counter[str]] = field(default_factory=list)
    df: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)  # a scorer's own state

    def add(self, messages: Sequence[Message], counter: TokenCounter) -> None:
        for m in messages:
            bag = Counter(terms(m.content))
            self.ids.append(m.id)
            self.texts.append(m.content)
            self.tokens.append(counter.count(m.content))
            self.bags.append(bag)
            self.df.update(bag.keys())


class Scorer(ABC):
    """``scores(index, query) -> (n,)`` float, higher = more relevant."""

    name: ClassVar[str] = ""

    def extend(self, index: SessionIndex, start: int) -> None:  # noqa: B027 (optional hook)
        """Prepare documents ``start:`` of the index (e.g. embed them)."""

    @abstractmethod
    def scores(self, index: SessionIndex, query: str) -> np.ndarray: ...


_REGISTRY: dict[str, Callable[..., Scorer]] = {}


def register(name: str) -> Callable[[type[Scorer]], type[Scorer]]:
    def deco(cls: type[Scorer]) -> type[Scorer]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def make_scorer(name: str, **kwargs: Any) -> Scorer:
    from serve.memory import embeddings  # noqa: F401 (registers static, hybrid)

    if name not in _REGISTRY:
        raise InvalidInput(f"retrieval: expected one of {sorted(_REGISTRY)}, got {name!r}")
    return _REGISTRY[name](**kwargs)


@register("bm25")
class BM25(Scorer):
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b

    def scores(self, index: SessionIndex, query: str) -> np.ndarray:
        n = len(index.ids)
        out = np.zeros(n, dtype=np.float64)
        if n == 0:
            return out
        lens = np.array([sum(b.values()) for b in index.bags], dtype=np.float64)
        norm = self.k1 * (1 - self.b + self.b * lens / max(lens.mean(), 1e-9))
        for w in set(terms(query)):
            df = index.df.get(w, 0)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = np.array([b.get(w, 0) for b in index.bags], dtype=np.float64)
            out += idf * tf * (self.k1 + 1) / (tf + norm)
        return out


class IndexCache:
    """Per-session indexes, least recently used first out. Thread-safe."""

    def __init__(self, scorer: Scorer, counter: TokenCounter, max_sessions: int = 256) -> None:
        self.scorer = scorer
        self.counter = counter
        self.max_sessions = max_sessions
        self._items: OrderedDict[tuple[str, str], SessionIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner: str, state: SessionState) -> SessionIndex:
        key = (owner, state.session_id)
        with self._lock:
            idx = self._items.get(key)
            if idx is not None:
                self._items.move_to_end(key)
            ids = [m.id for m in state.messages]
            if idx is None or idx.ids != ids[:len(idx.ids)]:
                idx = SessionIndex(state.version)
            start = len(idx.ids)
            if start < len(ids) or idx.version != state.version:
                idx.add(state.messages[start:], self.counter)
                self.scorer.extend(idx, start)
                idx.version = state.version
            self._items[key] = idx
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)
            return idx

    def purge(self, owner: str, session_id: str, ids: Sequence[str] | None = None) -> int:
        """Drop the session's index; returns how many of ``ids`` (all when None) it held."""
        with self._lock:
            idx = self._items.pop((owner, session_id), None)
        if idx is None:
            return 0
        return len(idx.ids) if ids is None else len(set(ids) & set(idx.ids))

    def scan(self, needles: Sequence[str]) -> list[StoreScan]:
        with self._lock:
            texts = [t for idx in self._items.values() for t in idx.texts]
            vocab = [" ".join(sorted(idx.df)) for idx in self._items.values()]
        return [scan_texts("retrieval_index:documents", texts, needles),
                scan_texts("retrieval_index:vocabulary", vocab,
                           [n for n in needles if " " not in n])]
