"""The registered checks: structured PII rules, secrets, and the learned scorer.

``learned`` runs the ONNX graph once over the document's windows: the classifier's
per-category probability is the maximum over windows; the tagger's per-token entity
probability and type come from each token's owner window, tokens over the operating
point's tag threshold are merged into spans (same type, consecutive tokens), and a
tagger span of a rule-owned type (a card, an IBAN, ...) is kept only if that type's
validator accepts it.
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
"""feeds {input_ids, attention_mask, shape_ids} -> [scores (K, C), entity_prob (K, T),
entity_type (K, T)]: an ONNX Runtime session's ``run`` or the torch module's."""


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
        tags: the tagger's labels, ``tags[0] == "O"``.
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

    def run(self, doc: Document) -> CheckResult:
        enc = doc.encoding
        win = make_windows(enc, self.width, self.stride, self.cls_id, self.sep_id)
        scores, prob, kind = self._run(win.feeds())
        out = {c: float(scores[:, i].max()) for i, c in enumerate(self.categories)}
        spans: list[Span] = []
        if len(enc):
            w, col = owner(win, len(enc))
            tok_p, tok_t = prob[w, col], kind[w, col]
            tau = self.tag_thresholds.get(doc.operating_point, 0.5)
            spans = self._spans(doc, tok_p, tok_t, tau)
        if spans:
            out["pii"] = max(s.score for s in spans)
        return CheckResult(out, spans)

    def _spans(self, doc: Document, p: np.ndarray, t: np.ndarray, tau: float) -> list[Span]:
        """Merge consecutive same-type tokens over ``tau`` into validated spans."""
        hit = np.flatnonzero(p >= tau)
        if not len(hit):
            return []
        starts, ends = doc.encoding.offsets(hit)
        spans: list[Span] = []
        run_s, run_e, run_t, run_p, last = -1, -1, -1, [], -2
        for j, s, e in zip(hit.tolist(), starts.tolist(), ends.tolist(), strict=True):
            kind = int(t[j])
            if j == last + 1 and kind == run_t:
                run_e, last = max(run_e, e), j
                run_p.append(float(p[j]))
                continue
            self._close(doc, run_s, run_e, run_t, run_p, spans)
            run_s, run_e, run_t, run_p, last = s, e, kind, [float(p[j])], j
        self._close(doc, run_s, run_e, run_t, run_p, spans)
        return spans

    def _close(self, doc: Document, s: int, e: int, kind: int, ps: list[float],
               spans: list[Span]) -> None:
        if s < 0:
            return
        label = self.tags[kind]
        if rules.validate(label, doc.text[s:e]) is False:
            return
        spans.append(Span(label, s, e, float(np.mean(ps)), "tagger"))
