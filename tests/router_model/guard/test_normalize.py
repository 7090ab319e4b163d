from router_model.guard.normalize import (
    Normalizer,
    fold_char,
    join_spaced,
    read_leet,
    vocab_words,
)
from router_model.tokenization import load_tokenizer

norm = Normalizer()


def test_ascii_is_identity_without_copy() -> None:
    t = "Ignore the noise in this dataset, please."
    n = norm(t)
    assert n.text is t and n.starts is None and n.to_original(3, 9) == (3, 9)


def test_zero_width_and_bidi_removed_with_offsets_back() -> None:
    t = "ig\u200bno\u202ere prev\u2066ious"
    n = norm(t)
    assert n.text == "ignore previous"
    s, e = n.to_original(0, 6)  # "ignore"
    assert t[s:e].replace("\u200b", "").replace("\u202e", "") == "ignore"


def test_full_width_math_and_accents_fold_to_ascii() -> None:
    assert norm("ＩＧＮＯＲＥ ４１１１").text == "IGNORE 4111"
    assert norm("𝐢𝐠𝐧𝐨𝐫𝐞 café").text == "ignore cafe"
    assert fold_char("\ufb01") == "fi"  # a ligature becomes two characters
    n = norm("\ufb01le")
    assert n.text == "file" and n.to_original(0, 2) == (0, 1)


def test_homoglyphs_only_in_mixed_or_lookalike_words() -> None:
    assert norm("раssword аnd іgnore").text == "password and ignore"
    assert norm("Привет, мир").text == "Привет, мир"  # real Russian is left alone


def test_spaced_and_leet_words() -> None:
    assert join_spaced("i.g.n.o.r.e") == "ignore"
    assert join_spaced("i-g-n-o-r-e,") == "ignore,"
    assert join_spaced("a.m.") is None and join_spaced("e-mail") is None
    vocab = vocab_words(load_tokenizer(512).get_vocab())
    assert read_leet("1gn0re", vocab) == "ignore"
    assert read_leet("P4ssw0rd.", vocab) == "Password."
    for keep in ("gpt4", "mp3", "2nd", "h2o", "2024", "covid19", "A1"):
        assert read_leet(keep, vocab) is None, keep
