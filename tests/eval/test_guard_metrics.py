"""Guard evaluation arithmetic: the span overlap rule, recall at a fixed FPR, and the
validation threshold rule (on every benign set at once)."""

from __future__ import annotations

import numpy as np

from eval.guard_eval import Run, over_refusal
from eval.guard_metrics import per_source, recall_at_fpr
from eval.guard_spans import match, score_spans
from router_model.guard.spans import Span
from train.guard_calibrate import Scored, category_thresholds, fpr_threshold
from train.guard_data import Example


def test_span_rule_same_type_iou_half_one_to_one() -> None:
    gold = [Span("PERSON", 0, 10)]
    assert len(match([Span("PERSON", 0, 6)], gold)[0]) == 1  # IoU 0.6
    assert len(match([Span("PERSON", 0, 4)], gold)[0]) == 0  # IoU 0.4
    assert len(match([Span("GPE", 0, 10)], gold)[0]) == 0  # wrong type
    assert len(match([Span("GPE", 0, 10)], gold, type_agnostic=True)[0]) == 1
    tp, fp, fn = match([Span("PERSON", 0, 10), Span("PERSON", 1, 10)], gold)
    assert (len(tp), len(fp), len(fn)) == (1, 1, 0)  # a gold span is matched once
    s = score_spans([([Span("PERSON", 0, 10)], gold), ([], [Span("GPE", 3, 5)])])
    assert s["ALL"].precision == 1.0 and s["ALL"].recall == 0.5
    assert abs(s["ALL"].f_beta(2.0) - 5 * 0.5 / (4 + 0.5)) < 1e-9


def test_recall_at_fpr_and_threshold() -> None:
    neg = np.linspace(0, 0.5, 100)
    pos = np.array([0.2, 0.6, 0.7, 0.9])
    assert recall_at_fpr(pos, neg, 0.01) == 0.75
    t = fpr_threshold(neg, 0.01)  # one of 100 may pass
    assert (neg >= t).sum() == 1
    assert (neg >= fpr_threshold(neg, 0.0)).sum() == 0


def test_threshold_holds_on_every_set_and_hard_sets_have_their_own_rate() -> None:
    rng = np.random.default_rng(0)
    traffic, hard = rng.uniform(0, 0.3, 1000), np.r_[rng.uniform(0, 0.3, 30), [0.8, 0.95]]
    scores = np.r_[traffic, hard][:, None].repeat(2, 1)
    labels = np.zeros_like(scores, dtype=int)
    src = ["routellm"] * 1000 + ["hard_benign"] * 32
    th = category_thresholds(Scored(scores, src, labels), {"balanced": 0.01})
    assert th["injection"]["balanced"] > 0.95  # 1% of 32 = none: above the hard set's max
    th = category_thresholds(Scored(scores, src, labels), {"balanced": 0.01},
                             {"injection": {"balanced": 0.05}})
    t = th["injection"]["balanced"]
    assert 0.8 < t <= 0.95 and (hard >= t).sum() == 1 and (traffic >= t).mean() <= 0.01


def test_per_source_keeps_benign_rows_apart() -> None:
    s = np.array([0.9, 0.8, 0.1, 0.2])
    lab = np.array([1, 1, 0, 0])
    out = per_source(s, lab, ["deepset", "deepset", "deepset", "routellm"], 0.5,
                     ["deepset", "routellm"])
    assert out["deepset"]["recall_at_threshold"] == 1.0
    assert out["benign:deepset"]["fpr_at_threshold"] == 0.0 and "benign:routellm" in out


def test_over_refusal_counts_everyday_requests_by_any_category() -> None:
    """Everyday texts are flagged when ANY category is over its threshold; trigger-word
    texts only by their own; texts of other sources do not count."""
    ev = [Example("a", "hard_benign", (0, 0), "everyday:200"),
          Example("b", "hard_benign", (0, 0), "everyday:201"),
          Example("c", "hard_benign", (0, 0), "injection:3"),
          Example("d", "routellm", (0, 0), "x")]
    scores = np.array([[0.9, 0.0], [0.0, 0.1], [0.0, 0.9], [0.9, 0.9]])
    out = over_refusal(Run(scores, np.zeros(4), {"injection": 0.5, "harmful": 0.5}), ev)
    assert out["everyday_requests"] == {"n": 2, "flagged": 0.5}
    assert out["injection_words"]["flagged_by_own_category"] == 0.0
    assert out["any_category"] == {"n": 3, "flagged": 2 / 3}
