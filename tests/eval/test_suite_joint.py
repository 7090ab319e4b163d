"""Auxiliary rows for the suite's joint variant (eval/suite/joint.py): models map across
datasets by name and alias, and an auxiliary prompt that shares a passage with a held-out
prompt is left out while shared template text does not count."""

from __future__ import annotations

import numpy as np

from data.matrix import FullInfo
from eval.suite.joint import MAX_DF, AuxSource, canonical


def _full(texts: list[str], models: list[str], q: np.ndarray) -> FullInfo:
    n, M = q.shape
    return FullInfo(np.arange(n).astype(str), np.array(texts), np.array([""] * n), models,
                    q, np.ones((n, M)), np.ones((n, M)), np.ones((n, M)))


TEMPLATE = "answer the following question with a single letter and nothing else please"
MAIN = [f"{TEMPLATE} question {i}: what is {i} plus {i} in the decimal system today" for i in
        range(MAX_DF + 3)]


def test_models_map_by_alias() -> None:
    assert canonical("mistralai/Mixtral-8x7B-Instruct-v0.1") == "mistralai/mixtral-8x7b-chat"
    aux = _full(["a b c"], ["gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"],
                np.array([[1.0, 0.0]]))
    src = AuxSource(aux, ["x"], ["claude-v2", "mistralai/mixtral-8x7b-chat",
                                 "gpt-4-1106-preview"])
    q = src.quality()
    assert np.isnan(q[0, 0]) and q[0, 1] == 0.0 and q[0, 2] == 1.0


def test_a_passage_shared_with_a_held_out_prompt_is_left_out() -> None:
    aux_texts = [MAIN[0] + " extra",              # shares the held-out prompt's passage
                 f"{TEMPLATE} something entirely different about rivers and lakes",
                 MAIN[1] + " extra"]               # shares a passage of a train prompt
    aux = _full(aux_texts, ["gpt-4-1106-preview"], np.ones((3, 1)))
    src = AuxSource(aux, MAIN, ["gpt-4-1106-preview"])
    train = np.arange(1, len(MAIN))  # MAIN[0] is held out
    assert src.keep(train).tolist() == [False, True, True]
    assert src.keep(np.arange(len(MAIN))).tolist() == [True, True, True]  # nothing held out
