"""The registered checks: structured PII rules, secrets, and the learned scorer.

``learned`` runs the ONNX graph once over the document's windows: the classifier's
per-category probability is the maximum over windows; the tagger's per-token BIO tag
probabilities come from each token's owner window and are decoded per word
(``Learned._spans``); a tagger span of a rule-owned type (a card, an IBAN, ...) is kept
only if that type's validator accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from router_model.guard import rules
from router_model.guard.base import CheckResult, Document, GuardCheck, register_check
from router_model.guard.secrets import find_secrets
from router_model.guard.spans import Span
from router_model.guard.windows import make_windows, owner

Runner = Callable[[dict[str, np.ndarray]], Sequence[np.ndarray]]
"""feeds {input_ids, attention_mask, shape_ids} -> [scores (K, C), tag_probs (K, T, L)]:
an ONNX Runtime session's ``run`` or the torch module's."""


@register_check("pii_rules")
class PiiRules(GuardCheck):
    """Emails, URLs, IBANs, cards, SSNs, IP addresses, phone numbers (``rules``)."""

    def run(self, doc: Document) -> CheckResult:
        spans = rules.find_pii(doc.text)
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
    """

    needs_tokens = True

    def __init__(self, run: Runner, categories: Sequence[str], tags: Sequence[str],
                 tag_thresholds: Mapping[str, float], width: int, stride: int,
                 cls_id: int, sep_id: int) -> None:
        self._run = run
        self.categories = list(categories)
        self.tags = list(tags)
        self.tag_thresholds = dict(tag_thresholds)
        self.width, self.stride = width, stride
        self.cls_id, self.sep_id = cls_id, sep_id

    def _types(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Entity types and, per type, the column of its B- and I- tag."""
        types = sorted({t[2:] for t in self.tags if t != "O"})
        b = np.array([self.tags.index(f"B-{t}") for t in types])
        i = np.array([self.tags.index(f"I-{t}") for t in types])
        return types, b, i

    def run(self, doc: Document) -> CheckResult:
        enc = doc.encoding
        win = make_windows(enc, self.width, self.stride, self.cls_id, self.sep_id)
        scores, probs = self._run(win.feeds())
        out = {c: float(scores[:, i].max()) for i, c in enumerate(self.categories)}
        spans: list[Span] = []
        if len(enc):
            w, col = owner(win, len(enc))
            tau = self.tag_thresholds.get(doc.operating_point, 0.5)
            spans = self._spans(doc, probs[w, col], tau)
        if spans:
            out["pii"] = max(s.score for s in spans)
        return CheckResult(out, spans)

    def _spans(self, doc: Document, p: np.ndarray, tau: float) -> list[Span]:
        """Word-level BIO decoding of token tag probabilities ``p`` (n, L): a word (its
        first piece; continuation pieces follow it) is an entity when 1 - P(O) >= tau,
        of the type with the most B + I mass; it starts a span on B or a type change,
        else extends the previous word's span."""
        enc = doc.encoding
        first = np.flatnonzero((enc.shapes & 8) == 0)  # word-initial pieces
        ent = 1.0 - p[first, 0]
        hit = np.flatnonzero(ent >= tau)
        if not len(hit):
            return []
        types, bcol, icol = self._types()
        pw = p[first[hit]]
        kind = (pw[:, bcol] + pw[:, icol]).argmax(1)
        begin = pw[np.arange(len(hit)), bcol[kind]] >= pw[np.arange(len(hit)), icol[kind]]
        last = np.r_[first[1:] - 1, len(enc) - 1][hit]  # each word's last piece
        s_off, _ = enc.offsets(first[hit])
        _, e_off = enc.offsets(last)
        spans: list[Span] = []
        cur: list = []  # [start, end, type, [probs], word index]
        for k in range(len(hit)):
            w, t = int(hit[k]), int(kind[k])
            if cur and not begin[k] and cur[2] == t and cur[4] == w - 1:
                cur[1], cur[4] = int(e_off[k]), w
                cur[3].append(float(ent[w]))
                continue
            self._close(doc, cur, types, spans)
            cur = [int(s_off[k]), int(e_off[k]), t, [float(ent[w])], w]
        self._close(doc, cur, types, spans)
        return spans

    def _close(self, doc: Document, cur: list, types: list[str], spans: list[Span]) -> None:
        if not cur:
            return
        label = types[cur[2]]
        if rules.validate(label, doc.text[cur[0]:cur[1]]) is False:
            return
        spans.append(Span(label, cur[0], cur[1], float(np.mean(cur[3])), "tagger"))
