"""The agreement cascade's pieces (eval/suite/cascade_agree.py) on hand-made cases."""

from __future__ import annotations

import numpy as np

from eval.suite.cascade_agree import agree_outcomes, agreement, answer_key, choose_pair


def test_answer_key_reads_option_letters_and_short_answers_only() -> None:
    assert [answer_key(t) for t in ["C", "A\n", "(B) because", " D. The", "A)"]] == \
        ["C", "A", "B", "D", "A"]
    assert answer_key("  42 ") == "42"
    assert answer_key("Apples are red") == "apples are red"  # not an option letter
    assert answer_key("") is None
    assert answer_key("Here is a function:\n```python\ndef f(x):\n    return x\n```") is None


def test_agreement_needs_the_same_non_empty_key() -> None:
    keys = np.array([["A", "A"], ["A", "B"], [None, None]], dtype=object)
    assert agreement(keys, 0, 1).tolist() == [True, False, False]


def test_outcomes_pay_the_pair_and_the_escalation_only_when_needed() -> None:
    agree = np.array([True, False, False])
    quality = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    cost = np.array([[1.0, 2.0, 10.0]] * 3)
    third = np.array([[2, 2, 1]])  # one sweep point: escalate to m2, m2, m1
    c, q = agree_outcomes(agree, (0, 1), third, quality, cost)
    assert c[:, 0].tolist() == [3.0, 13.0, 3.0]  # m1 is already paid for in row 2
    assert q[:, 0].tolist() == [1.0, 1.0, 1.0]


def test_choose_pair_prefers_the_pair_whose_agreement_means_correct() -> None:
    rng = np.random.default_rng(0)
    n = 500
    truth = rng.integers(0, 4, n)
    letters = np.array(list("ABCD"), dtype=object)
    good = letters[truth]
    noisy = letters[np.where(rng.random(n) < 0.5, truth, rng.integers(0, 4, n))]
    echo = noisy.copy()  # m2 copies m1's (noisy) answer: agreement says nothing
    keys = np.stack([noisy, echo, good, good], 1)
    quality = np.stack([noisy == good, echo == good, np.ones(n), np.ones(n)], 1).astype(float)
    cost = np.array([[1.0, 1.0, 1.0, 1.0, 100.0]] * n)[:, :4]
    cost = np.hstack([cost, np.full((n, 1), 100.0)])
    keys = np.hstack([keys, keys[:, :1]])
    quality = np.hstack([quality, np.ones((n, 1))])
    a, b = choose_pair(keys, quality, cost, ref=4)
    assert {a, b} == {2, 3}
