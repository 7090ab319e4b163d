"""The registered checks: structured PII rules, secrets, and the learned scorer.

``learned`` runs the ONNX graph once over the document's windows: the classifier's
per-category probability is the maximum over windows (with a character n-gram scorer,
each window's probability is first blended with that scorer's, ``blend``); the
tagger's per-token BIO tag probabilities come from each token's owner window and are
decoded per word (``Learned._spans``); a tagger span of a rule-owned type (a card, an
IBAN, ...) is kept only if that type's validator accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from router_model.guard import rules
from router_model.guard.base import CheckResult, Document, GuardCheck, register_check
from router_model.guard.char_ngrams import BUCKETS, N_RANGE, window_ngrams
from router_model.guard.encoding import Encoding
from router_model.guard.secrets import find_secrets
from router_model.guard.spans import Span
from router_model.guard.windows import Windows, make_windows, owner

Runner = Callable[[dict[str, np.ndarray]], Sequence[np.ndarray]]
"""feeds {input_ids, attention_mask, shape_ids} -> [scores (K, C), tag_probs (K, T, L)]:
an ONNX Runtime session's ``run`` or the torch module's."""
NgramRunner = Callable[[dict[str, np.ndarray]], Sequence[np.ndarray]]
"""feeds {ngram_ids, ngram_tf} -> [ngram_scores (K, C)] (``router_model.guard.ngram_model``)."""
WindowScorer = Callable[[str, np.ndarray, np.ndarray], np.ndarray]
"""(text, window char starts (K,), ends (K,)) -> n-gram scores (K, C): the numpy
``NgramScorer``, or an ``NgramRunner`` behind ``graph_scorer``."""
_EPS = 1e-6


def blend(p_net: np.ndarray, p_ngram: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per window and category ``sigmoid((1 - w) logit(p_net) + w logit(p_ngram))``:
    (K, C), (K, C), (C,) -> (K, C); ``w = 0`` is the net alone, ``w = 1`` the n-grams."""
    def logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(p.astype(np.float64), _EPS, 1.0 - _EPS)
        return np.log(q) - np.log1p(-q)

    z = (1.0 - weight) * logit(p_net) + weight * logit(p_ngram)
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def graph_scorer(run: NgramRunner, n_range: Sequence[int] = N_RANGE,
                 buckets: int = BUCKETS) -> WindowScorer:
    """A ``WindowScorer`` over the n-gram graph's runner: padded feeds
    (``char_ngrams.window_ngrams``), then the graph."""
    hashing = (int(n_range[0]), int(n_range[1])), int(buckets)

    def score(text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        return np.asarray(run(window_ngrams(text, starts, ends, *hashing).feeds())[0])

    return score


def window_chars(enc: Encoding, win: Windows, text_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Character ``[start, end)`` of each window (K,) x 2: from its first token's start
    to its last token's end; the first window starts at 0 and the last ends at the
    text's end, so no character falls outside every window."""
    k = len(win.starts)
    if not len(enc):
        return np.zeros(k, dtype=np.int64), np.full(k, text_len, dtype=np.int64)
    a, _ = enc.offsets(win.starts)
    _, b = enc.offsets(win.starts + np.maximum(win.lengths, 1) - 1)
    a, b = a.astype(np.int64), b.astype(np.int64)
    a[0], b[-1] = 0, text_len
    return a, b


@register_check("pii_rules")
class PiiRules(GuardCheck):
    """Emails, URLs, IBANs, cards, SSNs, IP addresses, phone numbers, and the free-form
    rules (dates, places) that ``doc.rules`` names (``rules``)."""

    def run(self, doc: Document) -> CheckResult:
        spans = rules.find_pii(doc.text, doc.rules)
        return CheckResult({"pii": 1.0 if spans else 0.0}, spans)


@register_check("secrets")
class Secrets(GuardCheck):
    """API keys, tokens, private keys, ``password = ...`` values (``secrets``)."""

    def run(self, doc: Document) -> CheckResult:
        spans = find_secrets(doc.text)
        return CheckResult({"secret": 1.0 if spans else 0.0}, spans)


@register_check("learned")
class Learned(GuardCheck):
    """Classifier + tagger over windows (see module docstring).

    Args:
        run: the graph (``Runner``).
        categories: the classifier's output names, in order.
        tags: the tagger's BIO labels, ``tags[0] == "O"``, then ``B-T`` / ``I-T``.
        tag_thresholds: operating point -> entity-probability threshold.
        width, stride: window size and step in tokens.
        cls_id, sep_id: special token ids.
        ngram: the character n-gram scorer (``WindowScorer``), or None.
        ngram_weight: category -> blend weight of the n-gram scorer (``blend``).
    """

    needs_tokens = True

    def __init__(self, run: Runner, categories: Sequence[str], tags: Sequence[str],
                 tag_thresholds: Mapping[str, float], width: int, stride: int,
                 cls_id: int, sep_id: int, ngram: WindowScorer | None = None,
                 ngram_weight: Mapping[str, float] | None = None) -> None:
        self._run = run
        self._ngram = ngram
        self.ngram_weight = dict(ngram_weight or {})
        self._ngram_w = np.array([self.ngram_weight.get(c, 0.0) for c in categories])
        self.categories = list(categories)
        self.tags = list(tags)
        self.tag_thresholds = dict(tag_thresholds)
        self.width, self.stride = width, stride
        self.cls_id, self.sep_id = cls_id, sep_id
        self._tcols = self._types()

    def _types(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Entity types and, per type, the column of its B- and I- tag."""
        types = sorted({t[2:] for t in self.tags if t != "O"})
        b = np.array([self.tags.index(f"B-{t}") for t in types], dtype=np.int64)
        i = np.array([self.tags.index(f"I-{t}") for t in types], dtype=np.int64)
        return types, b, i

    def run(self, doc: Document) -> CheckResult:
        enc = doc.encoding
        win = make_windows(enc, self.width, self.stride, self.cls_id, self.sep_id)
        scores, probs = self._run(win.feeds())
        if self._ngram is not None:
            scores = self._blend(doc, win, scores)
        top = scores.max(0)
        out = {c: float(top[i]) for i, c in enumerate(self.categories)}
        spans: list[Span] = []
        tau = self.tag_thresholds.get(doc.operating_point, 0.5)
        # the owner gather and the decoding only when some position of some window is
        # over the threshold (the common case on clean traffic: none is)
        if len(enc) and float((1.0 - probs[..., 0]).max()) >= tau:
            w, col = owner(win, len(enc))
            spans = self._spans(doc, probs[w, col], tau)
        if spans:
            out["pii"] = max(s.score for s in spans)
        return CheckResult(out, spans)

    def _blend(self, doc: Document, win: Windows, scores: np.ndarray) -> np.ndarray:
        """The net's window scores (K, C) blended with the n-gram scorer's."""
        assert self._ngram is not None
        enc = doc.encoding
        a, b = window_chars(enc, win, len(doc.text))
        return blend(scores, self._ngram(doc.text, a, b), self._ngram_w)

    def _spans(self, doc: Document, p: np.ndarray, tau: float) -> list[Span]:
        """Word-level BIO decoding of token tag probabilities ``p`` (n, L): a word (its
        first piece; continuation pieces follow it) is an entity when 1 - P(O) >= tau,
        of the type with the most B + I mass; it starts a span on B, a type change or a
        gap, else extends the previous word's span (vectorised; one Python step per
        span, for its validator)."""
        enc = doc.encoding
        first = np.flatnonzero((enc.shapes & 8) == 0)  # word-initial pieces
        ent = 1.0 - p[first, 0]
        hit = np.flatnonzero(ent >= tau)
        if not len(hit):
            return []
        types, bcol, icol = self._tcols
        pw = p[first[hit]]
        rows = np.arange(len(hit))
        kind = (pw[:, bcol] + pw[:, icol]).argmax(1)
        begin = pw[rows, bcol[kind]] >= pw[rows, icol[kind]]
        last = np.r_[first[1:] - 1, len(enc) - 1][hit]  # each word's last piece
        new = np.ones(len(hit), dtype=bool)
        new[1:] = begin[1:] | (kind[1:] != kind[:-1]) | (hit[1:] != hit[:-1] + 1)
        heads = np.flatnonzero(new)
        tails = np.r_[heads[1:] - 1, len(hit) - 1]
        s_off, _ = enc.offsets(first[hit[heads]])
        _, e_off = enc.offsets(last[tails])
        mean = np.add.reduceat(ent[hit], heads) / (tails - heads + 1)
        spans: list[Span] = []
        text = doc.text
        for a, b, t, m in zip(s_off.tolist(), e_off.tolist(), kind[heads].tolist(),
                              mean.tolist(), strict=True):
            label = types[t]
            if rules.validate(label, text[a:b]) is False:
                continue
            spans.append(Span(label, a, b, float(m), "tagger"))
        return spans
