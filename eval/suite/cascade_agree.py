"""The agreement cascade on RouterBench: two cheap answers that agree need no third call.

Policy (per request, no task tag): call a fixed pair of models (m1, m2); when their
answers' keys agree (``answer_key``: the option letter of a multiple-choice answer, or a
short answer's normalised text), answer with m1 and pay both calls; otherwise escalate to
the one-shot router's choice at cost weight w (paying it too, unless it is m1 or m2,
whose answer is already there). The operating points are the sweep's weights w, the same
count as the router's, so the hull is not favoured by more points. The pair is chosen on
the split's train + validation requests only (``choose_pair``): among pairs costing at
most ``PAIR_BUDGET`` of the reference model, the one that maximises the fraction of
requests where they agree and m1 is right minus where they agree and m1 is wrong. This is
the answer-consistency signal of LLM cascades (a learned verifier on one answer is the
other cascade, ``cascade.py``).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from eval.suite.cascade import answers
from eval.suite.methods import Fitted
from eval.suite.metrics import sweep_choices
from eval.suite.splits import Split

PAIR_BUDGET = 0.25  # the pair's mean cost at most this fraction of the reference's
SHORT_ANSWER = 40  # characters: longer answers have no key (they never agree)
_OPTION = re.compile(r"^[\s\"'(\[]*([A-E])(?![A-Za-z])")


def answer_key(text: str) -> str | None:
    """The comparable part of an answer: an option letter ("C", "(C)", "C) ...", "C\\n"),
    else the casefolded alphanumerics of a short answer; None when there is nothing to
    compare (empty or long free text)."""
    m = _OPTION.match(text)
    if m:
        return m.group(1)
    s = re.sub(r"[^0-9a-z]+", " ", text.casefold()).strip()
    return s if s and len(text.strip()) <= SHORT_ANSWER else None


def agreement(keys: np.ndarray, a: int, b: int) -> np.ndarray:
    """(n,) bool: models a and b gave the same non-empty key. keys: (n, M) object."""
    ka, kb = keys[:, a], keys[:, b]
    return np.array([x is not None and x == y for x, y in zip(ka, kb, strict=True)])


def choose_pair(keys: np.ndarray, quality: np.ndarray, cost: np.ndarray,
                ref: int) -> tuple[int, int]:
    """The pair (m1, m2) described in the module docstring, from (n, M) fit rows."""
    budget = PAIR_BUDGET * cost[:, ref].mean()
    best, best_score = (0, 1), -np.inf
    for a, b in itertools.permutations(range(quality.shape[1]), 2):
        if cost[:, a].mean() + cost[:, b].mean() > budget:
            continue
        agree = agreement(keys, a, b)
        score = float(np.mean(agree & (quality[:, a] > 0.5))
                      - np.mean(agree & (quality[:, a] <= 0.5)))
        if score > best_score:
            best, best_score = (a, b), score
    return best


def agree_outcomes(agree: np.ndarray, pair: tuple[int, int], third: np.ndarray,
                   quality: np.ndarray, cost: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Realised (n, G) cost and quality. agree (n,), third (G, n) escalation choices,
    quality and cost (n, M) of the test requests."""
    a, b = pair
    rows = np.arange(len(agree))
    paid = cost[:, a] + cost[:, b]
    extra = np.where((third == a) | (third == b), 0.0, cost[rows, third])  # (G, n)
    c = paid[None] + (~agree)[None] * extra
    q = np.where(agree[None], quality[:, a][None], quality[rows, third])
    return c.T, q.T


def agree_cascade_for_split(s: Any, data: Any, split: Split, router: Fitted,
                            cost_test: np.ndarray, grid: tuple[float, ...], ref: int,
                            res: Any) -> tuple[np.ndarray, np.ndarray]:
    """Choose the pair on the split's fit rows, run the cascade on its test rows."""
    full = data.full
    texts = answers(s.shared / "routerbench", full.request_ids, full.models)
    keys = np.vectorize(answer_key, otypes=[object])(texts)
    pair = choose_pair(keys[split.fit], full.quality[split.fit], full.cost_usd[split.fit], ref)
    test = full.subset(split.test)
    agree = agreement(keys[split.test], *pair)
    third = sweep_choices(router.quality, cost_test, grid)  # (G, n)
    c, q = agree_outcomes(agree, pair, third, test.quality, test.cost_usd)
    a = pair[0]
    res.cascade_agree.append({
        "split": split.k, "pair": [full.models[pair[0]], full.models[pair[1]]],
        "agreement": float(agree.mean()),
        "precision_when_agree": float(test.quality[agree, a].mean()) if agree.any() else None,
        "pair_cost_fraction": float((test.cost_usd[:, pair[0]] + test.cost_usd[:, pair[1]]
                                     ).mean() / test.cost_usd[:, ref].mean())})
    return c, q
