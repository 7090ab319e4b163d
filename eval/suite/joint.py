"""Auxiliary rows for the ``joint`` variant: another dataset's requests, featurized by the
split's featurizer, with quality mapped onto this dataset's models (``AuxRows``).

Which dataset helps which: RouterBench and RouteLLM share gpt-4-1106-preview and Mixtral
8x7B Instruct (RouterBench calls it ``mistralai/mixtral-8x7b-chat``, Together's endpoint
for it). Leak-free: an auxiliary request that shares any rare 8-word shingle (document
frequency <= ``MAX_DF`` among this dataset's prompts, so templates do not count) with a
prompt outside the split's train part is left out, and the count is logged.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from data.matrix import FullInfo
from eval.suite.features import FeatureBank
from router_model.policies.joint import AuxRows

log = logging.getLogger(__name__)
AUX_OF = {"routerbench": "routellm", "routellm": "routerbench"}
SAME_MODEL = {"mistralai/mixtral-8x7b-instruct-v0.1": "mistralai/mixtral-8x7b-chat"}
SHINGLE = 8
MAX_DF = 3
_WORD = re.compile(r"\w+")


def canonical(model: str) -> str:
    """One name per model across datasets (lower case, known aliases)."""
    m = model.lower()
    return SAME_MODEL.get(m, m)


def shingles(text: str, n: int = SHINGLE) -> set[int]:
    """Hashes of the text's lower-cased word n-grams (a short text: one shingle of all)."""
    w = _WORD.findall(text.lower())
    if len(w) < n:
        return {hash(tuple(w))} if w else set()
    return {hash(tuple(w[i:i + n])) for i in range(len(w) - n + 1)}


def doc_freq(sets: list[set[int]]) -> Counter[int]:
    """Shingle -> number of texts it occurs in."""
    return Counter(h for s in sets for h in s)


@dataclass
class AuxSource:
    """Another dataset as auxiliary rows for one main dataset (see module docstring)."""

    aux: FullInfo
    main_texts: list[str]
    main_models: list[str]
    _bank: FeatureBank = field(init=False, repr=False)
    _sets: list[set[int]] = field(init=False, repr=False)
    _main_sets: list[set[int]] = field(init=False, repr=False)
    _df: Counter[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._bank = FeatureBank([str(q) for q in self.aux.queries])
        self._sets = [shingles(t) for t in self._bank.texts]
        self._main_sets = [shingles(t) for t in self.main_texts]
        self._df = doc_freq(self._main_sets)

    def quality(self) -> np.ndarray:
        """(n_aux, M) quality in the main models' order, NaN for models not in aux."""
        col = {canonical(m): j for j, m in enumerate(self.aux.models)}
        out = np.full((len(self.aux), len(self.main_models)), np.nan)
        for k, m in enumerate(self.main_models):
            if canonical(m) in col:
                out[:, k] = self.aux.quality[:, col[canonical(m)]]
        return out

    def keep(self, train: np.ndarray) -> np.ndarray:
        """(n_aux,) bool: auxiliary rows sharing no rare shingle with a non-train prompt."""
        held = np.setdiff1d(np.arange(len(self.main_texts)), train)
        bad = {h for i in held for h in self._main_sets[i] if self._df[h] <= MAX_DF}
        return np.array([not (s & bad) for s in self._sets], dtype=bool)

    def rows(self, featurizer: torch.nn.Module, train: np.ndarray) -> AuxRows:
        """The auxiliary rows for a split (its featurizer, its train part)."""
        q = self.quality()
        clean = self.keep(train)
        ok = clean & np.isfinite(q).any(1)
        X = self._bank.transform(featurizer)
        log.info("joint: %d of %d auxiliary rows kept (%d share a rare shingle with a "
                 "held-out prompt)", int(ok.sum()), len(ok), int((~clean).sum()))
        return AuxRows(X[ok], q[ok])
