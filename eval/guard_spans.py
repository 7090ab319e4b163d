"""PII span matching and precision / recall / F-beta per entity type.

Overlap rule (stated once, used by training and evaluation): a predicted span is a
true positive when it has the SAME entity type as a gold span and their character
intersection-over-union is at least ``MIN_IOU`` (0.5); each gold span is matched at most
once (greedy, highest IoU first). Unmatched predictions are false positives, unmatched
gold spans false negatives. ``type_agnostic=True`` ignores the type (a redaction view:
was the text covered at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from router_model.guard.spans import Span

MIN_IOU = 0.5


def iou(a: Span, b: Span) -> float:
    inter = min(a.end, b.end) - max(a.start, b.start)
    if inter <= 0:
        return 0.0
    return inter / (max(a.end, b.end) - min(a.start, b.start))


def match(pred: Sequence[Span], gold: Sequence[Span], type_agnostic: bool = False
          ) -> tuple[list[Span], list[Span], list[Span]]:
    """-> (true positives (pred side), false positives, false negatives)."""
    pairs = sorted(((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gold)
                    if type_agnostic or p.entity_type == g.entity_type), reverse=True)
    used_p, used_g = set(), set()
    for v, i, j in pairs:
        if v < MIN_IOU:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    tp = [p for i, p in enumerate(pred) if i in used_p]
    fp = [p for i, p in enumerate(pred) if i not in used_p]
    fn = [g for j, g in enumerate(gold) if j not in used_g]
    return tp, fp, fn


@dataclass
class SpanScores:
    """Counts and scores for one entity type (or ``ALL``)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def f_beta(self, beta: float = 2.0) -> float:
        p, r = self.precision, self.recall
        b2 = beta * beta
        return (1 + b2) * p * r / (b2 * p + r) if p + r else 0.0

    def as_dict(self, beta: float = 2.0) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision,
                "recall": self.recall, f"f{beta:g}": self.f_beta(beta)}


def score_spans(docs: Iterable[tuple[Sequence[Span], Sequence[Span]]],
                entity_types: Iterable[str] | None = None,
                type_agnostic: bool = False) -> dict[str, SpanScores]:
    """Per entity type and ``ALL`` (micro) over (pred, gold) pairs per document.
    ``entity_types``: only these types count (others are dropped on both sides)."""
    keep = set(entity_types) if entity_types is not None else None
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for pred, gold in docs:
        if keep is not None:
            pred = [p for p in pred if p.entity_type in keep]
            gold = [g for g in gold if g.entity_type in keep]
        t, f, n = match(pred, gold, type_agnostic)
        for c, spans in ((tp, t), (fp, f), (fn, n)):
            c.update(s.entity_type for s in spans)
    types = sorted(set(tp) | set(fp) | set(fn))
    out = {e: SpanScores(tp[e], fp[e], fn[e]) for e in types}
    out["ALL"] = SpanScores(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return out
