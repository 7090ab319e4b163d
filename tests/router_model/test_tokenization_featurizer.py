"""Tokenizer keeps the tail; featurizer is padding-invariant and its scalars mean something."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from router_model.featurizer import StaticFeaturizer, token_flags
from router_model.tokenization import encode, load_tokenizer


def test_truncation_keeps_the_tail() -> None:
    tok = load_tokenizer(16)
    text = " ".join(f"word{i}" for i in range(200)) + " the final question sits here"
    ids, mask = encode(tok, [text])
    assert ids.shape == (1, 16) and mask.all()
    decoded = tok.decode(ids[0].tolist())
    assert decoded.endswith("the final question sits here")
    assert "word0 " not in decoded


def test_max_tokens_validated() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        load_tokenizer(1000)


def _featurizer(dim: int = 8) -> tuple[StaticFeaturizer, object]:
    tok = load_tokenizer(64)
    rng = np.random.default_rng(0)
    table = rng.normal(size=(tok.get_vocab_size(), dim)).astype(np.float32)
    w = np.ones(tok.get_vocab_size(), np.float32)
    return StaticFeaturizer(table, w, token_flags(tok)).eval(), tok


def test_padding_does_not_change_features() -> None:
    feat, tok = _featurizer()
    short, long_ = "what is the capital of france", "explain " * 30 + "recursion in python"
    ids, mask = encode(tok, [short, long_])
    alone_ids, alone_mask = encode(tok, [short])
    with torch.no_grad():
        batch = feat(torch.from_numpy(ids), torch.from_numpy(mask))[0]
        alone = feat(torch.from_numpy(alone_ids), torch.from_numpy(alone_mask))[0]
    torch.testing.assert_close(batch, alone, rtol=1e-5, atol=1e-6)


def test_scalar_features_separate_code_from_prose() -> None:
    feat, tok = _featurizer()
    code = "def f(x): return [i * 2 for i in range(x)] # python"
    prose = "the weather in the valley was pleasant during the long summer"
    ids, mask = encode(tok, [code, prose])
    with torch.no_grad():
        out = feat(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    code_frac = out[:, 8 + 1]  # after the embedding dims and the length scalar
    assert code_frac[0] > code_frac[1] + 0.2


def test_tail_precut_gives_exactly_the_full_tokenization() -> None:
    from tokenizers import Tokenizer

    tok = load_tokenizer(64)
    full = Tokenizer.from_str(tok.to_str())  # reference: always tokenizes everything
    rng = np.random.default_rng(0)
    words = ["alpha", "béta", "x=1;", "naïve", "unbelievable", "(", "))", "42", "\n", "日本"]
    texts = [" ".join(rng.choice(words, size=n)) for n in (3, 50, 300, 2000, 5000)]
    texts.append("a" * 3000 + " tail words here")  # one giant word then a short tail
    for t in texts:
        want = full.encode(t)
        ids, _ = encode(tok, [t])
        assert ids[0].tolist() == want.ids, len(t)
    batch, _ = encode(tok, texts)
    for row, t in zip(batch, texts, strict=True):
        want = full.encode(t).ids
        assert row[: len(want)].tolist() == want
