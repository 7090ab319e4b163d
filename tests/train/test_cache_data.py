"""The verifier's data: a leak-free group split, implied pairs, and the trap generator."""

from __future__ import annotations

import random
import re

import pytest

from train.cache_data import Pair, closure, group_split, load_qqp, questions
from train.cache_lexicon import LEXICONS
from train.cache_traps import RULES, make_traps


def toy_pairs() -> list[Pair]:
    out = []
    for g in range(60):
        qs = [f"question {g} variant {v}" for v in range(3)]
        out += [Pair(qs[0], qs[1], 1), Pair(qs[1], qs[2], 1),
                Pair(qs[0], f"other {g}", 0)]
    return out


def test_group_split_puts_no_question_in_two_splits() -> None:
    sp = group_split(toy_pairs(), 0.2, 0.2, seed=0)
    seen = [set(questions(sp[s])) for s in ("train", "val", "test")]
    assert all(seen) and not (seen[0] & seen[1]) and not (seen[0] & seen[2]) \
        and not (seen[1] & seen[2])
    assert sum(len(v) for v in sp.values()) == len(toy_pairs())


def test_closure_adds_only_implied_pairs() -> None:
    pairs = toy_pairs()
    extra = closure(pairs, 10, seed=0)
    given = {frozenset((p.a, p.b)) for p in pairs}
    assert extra and not any(frozenset((p.a, p.b)) in given for p in extra)
    for p in extra:
        ga, gb = p.a.split()[1], p.b.split()[1]
        assert ga == gb  # every implied pair stays within one connected group
        assert p.label == (0 if p.b.startswith("other") or p.a.startswith("other") else 1)


def test_load_qqp_names_the_bad_line(tmp_path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text('{"text_a": "a", "text_b": "b", "label": 1}\n{"text_a": "a", "label": 1}\n')
    with pytest.raises(ValueError, match=r"q.jsonl:2"):
        load_qqp(f)


QUESTIONS = ["Can I travel from India to Canada without a visa in 2017?",
             "How do I convert Python to Java?", "Is Google better than Facebook?",
             "What are the best ways to lose weight in 30 days?",
             "Why don't people like Trump?", "How do I learn Spanish?"]


def test_each_trap_rule_changes_what_it_says() -> None:
    rng = random.Random(0)
    assert RULES["negation"]("Can I travel to Canada?", rng, 0) in (
        "Can't I travel to Canada?", "Can I not travel to Canada?")
    assert RULES["negation"]("Why don't people like it?", rng, 0) == "Why do people like it?"
    assert RULES["swapped_entities"]("How do I convert Python to Java?", rng, 0) == \
        "How do I convert Java to Python?"
    assert RULES["swapped_entities"]("Is Google better than Facebook?", rng, 0) == \
        "Is Facebook better than Google?"
    changed = RULES["numbers_dates"]("What happened in 2017 after 30 days?", rng, 0)
    assert changed is not None and changed != "What happened in 2017 after 30 days?"
    assert RULES["scope"]("What are the best ways to relax?", rng, 0) == \
        "What are the worst ways to relax?"


def test_traps_use_disjoint_lexicon_halves() -> None:
    subst = ("swapped_entities", "numbers_dates")
    train = {t.b for t in make_traps(QUESTIONS * 3, half=0, seed=0) if t.category in subst}
    test = {t.b for t in make_traps(QUESTIONS * 3, half=1, seed=0) if t.category in subst}
    words = [w for lex in LEXICONS.values() for ws in lex.values() for w in ws]
    half0 = {w for lex in LEXICONS.values() for ws in lex.values() for w in ws[0::2]}
    for b in test:
        for w in words:
            found = re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", b)
            if found and w in half0 and not any(w in q for q in QUESTIONS):
                pytest.fail(f"held-out trap {b!r} substitutes a training-half word {w!r}")
    assert train and test


def test_surface_edits_keep_the_label_positive() -> None:
    traps = make_traps(QUESTIONS, half=1, seed=0)
    assert {t.label for t in traps if t.category == "surface"} == {1}
    assert {t.label for t in traps if t.category != "surface"} == {0}
