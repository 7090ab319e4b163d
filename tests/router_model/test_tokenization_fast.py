"""The word-cached fast path gives exactly HF ``tokenizers``' ids (or steps aside)."""

from __future__ import annotations

import gc
import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from router_model.fast_tokenizer import CACHE_WORDS, FastEncoder
from router_model.tokenization import _FAST, encode, fast_encoder, load_tokenizer

ASCII_CASES = [
    "", " ", "\t\n\r  \n", "!!!???...", "a,b.c;d:e", "don't stop", "$100.00 + 5%",
    "C++ / C# `~^|\\", "a_b-c=d", "HeLLo WoRLD", "1234567890" * 20, "x" * 100, "x" * 101,
    "word " + "y" * 150 + " end", "((((((((((", "e.g. i.e. U.S.A.", "[mask] [unk]", "tab\tsep",
    "unbelievably antidisestablishmentarianism", "zzqxj qqqqq", "##", "## ##ing",
    "def f(x):\n    return [i * 2 for i in range(x)]  # python", "a\r\nb", "[", "]x[",
]
UNICODE_CASES = [  # per-chunk HF pipeline: accents, CJK, controls, unicode spaces
    "café", "naïve façade", "日本語テキスト", "\x00abc", "del\x7f", "€100", "non\u00a0breaking",
    "e\u0301", " \u0301x", "emoji 🙂 here", "\ufeffbom", "Ｆｕｌｌｗｉｄｔｈ", "a\u2028b\u2029c",
    "zero\u200bwidth", "ΟΔΟΣ οδος", "İstanbul", "ǅemal", "x\u3000y\u205fz", "\x07bell",
    "a\u202eb\u202c", "ﬁne ﬂow", "Ⅻ ①", "ß straße", "中文English混合", "x" * 90 + "é",
]
FALLBACK_CASES = [  # an added token, or a char str.split() cuts on but BERT deletes
    "Hello [SEP] world", "[MASK]", "[CLS]x", "a\x0bb", "a\x0cb", "a\x1fb", "a\x85b",
    "é\x1cb",
]


def _reference(max_tokens: int) -> Tokenizer:
    """Plain HF tokenizer with the router's truncation: the ground truth."""
    return Tokenizer.from_str(load_tokenizer(max_tokens).to_str())


@pytest.mark.parametrize("max_tokens", [8, 512])
def test_adversarial_strings_match_hf(max_tokens: int) -> None:
    tok, ref = load_tokenizer(max_tokens), _reference(max_tokens)
    fast = fast_encoder(tok)
    for text in ASCII_CASES + UNICODE_CASES:
        assert fast.encode_ids(text, max_tokens) == ref.encode(text).ids, repr(text)
    for text in FALLBACK_CASES:
        assert fast.encode_ids(text, max_tokens) is None, repr(text)
    for text in ASCII_CASES + UNICODE_CASES + FALLBACK_CASES:
        ids, mask = encode(tok, [text])
        assert ids[0].tolist() == ref.encode(text).ids and mask.all(), repr(text)


CLASSES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Mc", "Me"}


def test_every_code_point_class_matches_hf() -> None:
    """Each whitespace, control, format, mark and separator char (and every 61st other
    code point) inside, around and after a word: the fast path is HF's, or it steps
    aside. (All 1,112,064 code points were checked once this way: 0 mismatches.)"""
    tok, ref = load_tokenizer(512), _reference(512)
    fast, n_fast = FastEncoder(tok), 0
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp < 0xE000 or (unicodedata.category(c) not in CLASSES and cp % 61):
            continue
        for text in (f"a{c}b", f"x {c}y", c, f"é{c}\u0301q {c}"):
            got = fast.encode_ids(text, 512)
            n_fast += got is not None
            assert got is None or got == ref.encode(text).ids, (hex(cp), text)
    assert n_fast > 40_000


def test_long_word_is_unk_and_long_text_keeps_tail() -> None:
    tok, ref = load_tokenizer(16), _reference(16)
    assert encode(tok, ["x" * 101])[0][0].tolist() == [101, 100, 102]
    text = "lead " * 5000 + "the final question, sits here!"
    ids, _ = encode(tok, [text])
    assert ids[0].tolist() == ref.encode(text).ids and ids.shape == (1, 16)


def test_random_fuzz_matches_hf() -> None:
    rng = np.random.default_rng(0)
    alphabet = [*"abcXYZ019 .,;!?'\"()[]{}#$%&*+-/<=>@\\^_`|~\t\n\r", "é", "ß", "中", "\x00"]
    tok, ref = load_tokenizer(64), _reference(64)
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 600)))) for _ in range(400)]
    texts += ["".join(rng.choice(alphabet[:-4], size=int(rng.integers(0, 600))))
              for _ in range(400)]  # pure ASCII: the fast path itself
    assert sum(fast_encoder(tok).encode_ids(t, 64) is not None for t in texts) == 800
    for t in texts:
        assert encode(tok, [t])[0][0].tolist() == ref.encode(t).ids, repr(t[:60])
    ids, mask = encode(tok, texts[::9])  # a mixed batch: fast and fallback rows
    for row, m, t in zip(ids, mask, texts[::9], strict=True):
        want = ref.encode(t).ids
        assert row[: len(want)].tolist() == want and m.sum() == len(want)
        assert not row[len(want):].any()


def test_cache_is_bounded_and_reused() -> None:
    tok = load_tokenizer(64)
    fast = fast_encoder(tok)
    assert fast_encoder(tok) is fast
    encode(tok, ["the cat sat on the mat"])
    info = fast.piece_ids.cache_info()
    assert info.maxsize == CACHE_WORDS and info.hits >= 1
    del tok
    gc.collect()
    assert not any(enc is fast for enc in _FAST.values())  # dropped with its tokenizer


def test_unrecognised_configuration_disables_the_fast_path() -> None:
    cfg = json.loads(load_tokenizer(64).to_str())
    cfg["normalizer"]["lowercase"] = False
    tok = Tokenizer.from_str(json.dumps(cfg))
    assert not FastEncoder(tok).enabled
    ids, _ = encode(tok, ["Hello World"])
    assert ids[0].tolist() == tok.encode("Hello World").ids


def _real_prompts(root: Path, sources: tuple[str, ...]) -> list[str]:
    from data.convert import convert

    out: list[str] = []
    for fmt in sources:
        out += convert(fmt, [root / fmt]).frame["query"].astype(str).tolist()
    return list(dict.fromkeys(out))


def _check_all(prompts: list[str], max_tokens: int) -> int:
    """Asserts equality on every prompt; returns how many took the fast path."""
    tok, ref = load_tokenizer(max_tokens), _reference(max_tokens)
    fast, n_fast = fast_encoder(tok), 0
    for q in prompts:
        want = ref.encode(q).ids
        got = fast.encode_ids(q, max_tokens)
        n_fast += got is not None
        assert got is None or got == want, q[:80]
        assert encode(tok, [q])[0][0].tolist() == want, q[:80]
    return n_fast


def test_all_routerbench_prompts_match_hf(shared_data: Path) -> None:
    prompts = _real_prompts(shared_data, ("routerbench",))
    assert len(prompts) > 2000
    assert _check_all(prompts, 512) > 0.999 * len(prompts)


@pytest.mark.slow
def test_all_real_prompts_match_hf(shared_data: Path) -> None:
    """RouterBench, RouteLLM (mmlu, gsm8k) and DC-Router: every distinct prompt."""
    prompts = _real_prompts(shared_data, ("routerbench", "routellm", "llmrouter"))
    assert len(prompts) > 15000
    for max_tokens in (64, 512):
        assert _check_all(prompts, max_tokens) > 0.999 * len(prompts)
