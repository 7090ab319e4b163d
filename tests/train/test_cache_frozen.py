"""The frozen-MiniLM experiment's pieces: the ESIM head over given token states is
symmetric in its two texts, and the lexical features see number / negation changes."""

from __future__ import annotations

import torch

from train.cache_frozen import lexical, pack_states
from train.cache_model import StateVerifier


def test_state_head_is_symmetric_and_ignores_padding() -> None:
    import numpy as np

    torch.manual_seed(0)
    model = StateVerifier(8, hidden=16).eval()
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(5, 8)).astype(np.float16), [101, 2129, 2079, 1045, 102])
    b = (rng.normal(size=(4, 8)).astype(np.float16), [101, 2054, 2003, 102])
    c = (rng.normal(size=(7, 8)).astype(np.float16), [101, 1, 2, 3, 4, 5, 102])
    with torch.no_grad():
        ab = model.logits_states(*pack_states([a]), *pack_states([b]))
        ba = model.logits_states(*pack_states([b]), *pack_states([a]))
        padded = model.logits_states(*pack_states([a, c]), *pack_states([b, c]))
    assert torch.allclose(ab, ba, atol=1e-5)
    assert torch.allclose(ab, padded[:1], atol=1e-5)  # padding in a batch changes nothing


def test_lexical_features_flag_numbers_and_negation() -> None:
    same = lexical("how do I learn python", "how do I learn python")
    num = lexical("flights in 2019", "flights in 2020")
    neg = lexical("can I eat eggs", "can I not eat eggs")
    assert same[0] == 1.0 and same[3] == 0.0 and same[5] == 0.0
    assert num[3] == 1.0 and neg[5] == 1.0 and neg[0] < 1.0
