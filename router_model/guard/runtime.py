"""The guard at run time: text -> ``GuardDecision`` in well under two milliseconds.

``Guard.load(dir)`` verifies the artifact and opens one ONNX Runtime session (one
thread, as the router's). ``check(text, policy)`` normalises the text, runs the checks
the manifest lists (rules, secrets, the learned scorer over windows), maps spans back
to the original text, applies the policy's thresholds and actions, and redacts.
Thread-safe: no mutable state after loading (the encoder's caches are thread-safe).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from router_model.guard import checks as _checks  # noqa: F401  (registers the checks)
from router_model.guard.artifact import NGRAM, ArtifactError, ngram_graph, open_guard_artifact
from router_model.guard.base import Document, GuardCheck, make_check
from router_model.guard.checks import NgramRunner, Runner, graph_scorer
from router_model.guard.decision import GuardDecision
from router_model.guard.encoding import GuardEncoder
from router_model.guard.ngram_scorer import NgramScorer
from router_model.guard.normalize import Normalizer
from router_model.guard.policy import PRESETS, GuardPolicy
from router_model.guard.redact import redact
from router_model.guard.rules import DEFAULT_RULES
from router_model.guard.secrets import SECRET_ENTITIES
from router_model.guard.spans import Span, resolve
from router_model.runtime import session_options
from router_model.tokenization import load_tokenizer

ORDER = ("injection", "harmful", "pii", "secret")
__all__ = ["ArtifactError", "Guard", "category_of"]


def category_of(entity_type: str) -> str:
    """``secret`` for API keys / tokens / private keys, else ``pii``."""
    return "secret" if entity_type in SECRET_ENTITIES else "pii"


def _session_runner(graph: bytes, threads: int, where: Path) -> Runner:
    """``feeds -> outputs`` of one ONNX Runtime session over ``graph``."""
    try:
        sess = ort.InferenceSession(graph, session_options(threads),
                                    providers=["CPUExecutionProvider"])
    except ort.capi.onnxruntime_pybind11_state.Fail as e:
        raise ArtifactError(f"{where}: ONNX Runtime cannot load it ({e})") from None
    names = [o.name for o in sess.get_outputs()]
    return lambda feeds: sess.run(names, feeds)


def _ngram_kwargs(manifest: Mapping[str, Any], ngram: NgramRunner | NgramScorer | None
                  ) -> dict[str, Any]:
    """The learned check's n-gram arguments: none without a scorer; with one, its blend
    weights from ``manifest["ngram"]`` and the scorer (a graph runner behind
    ``graph_scorer``, with the manifest's hashing)."""
    entry = manifest.get("ngram")
    if ngram is None or not entry:
        return {}
    scorer = ngram if isinstance(ngram, NgramScorer) else \
        graph_scorer(ngram, entry["n_range"], entry["buckets"])
    return {"ngram": scorer, "ngram_weight": entry["weight"]}


def _ngram_scorer(path: Path, manifest: Mapping[str, Any]) -> NgramScorer | None:
    """The verified ``ngram.onnx`` beside the graph as a numpy ``NgramScorer``, or None."""
    graph = ngram_graph(path, dict(manifest))
    if graph is None:
        return None
    scorer = NgramScorer.from_onnx(graph, tuple(manifest["ngram"]["n_range"]))
    if scorer.buckets != int(manifest["ngram"]["buckets"]):
        raise ArtifactError(f"{path / NGRAM}: {scorer.buckets} buckets, the manifest says "
                            f"{manifest['ngram']['buckets']}")
    return scorer


class Guard:
    """A loaded guard. Use ``Guard.load`` (or ``Guard.from_runner`` in training)."""

    def __init__(self, checks: Sequence[GuardCheck], thresholds: Mapping[str, Mapping[str, float]],
                 encoder: GuardEncoder, manifest: Mapping[str, Any],
                 policy: GuardPolicy | None = None) -> None:
        self.checks = list(checks)
        self.thresholds = {k: dict(v) for k, v in thresholds.items()}
        self.encoder = encoder
        self.normalizer = Normalizer()
        self.manifest = dict(manifest)
        self.policy = policy or PRESETS["balanced"]

    @classmethod
    def from_runner(cls, run: Runner, manifest: Mapping[str, Any], tokenizer_path: Path | None,
                    policy: GuardPolicy | None = None,
                    ngram: NgramRunner | NgramScorer | None = None) -> Guard:
        """A guard over any graph runner (the ONNX session, or the torch module), and
        the n-gram scorer (its graph's runner, or the numpy ``NgramScorer``) when the
        manifest has one (``manifest["ngram"]``)."""
        tok = load_tokenizer(512, tokenizer_path)
        tok.no_truncation()
        tok.no_padding()
        encoder = GuardEncoder(tok)
        built = []
        for name in manifest["checks"]:
            kw: dict[str, Any] = {}
            if name == "learned":
                tag_t = manifest["thresholds"].get("tag", {})
                kw = {"run": run, "categories": manifest["categories"],
                      "tags": manifest["tags"], "tag_thresholds": tag_t,
                      "width": int(manifest["windows"]["width"]),
                      "stride": int(manifest["windows"]["stride"]),
                      "cls_id": encoder.cls_id, "sep_id": encoder.sep_id,
                      **_ngram_kwargs(manifest, ngram)}
            built.append(make_check(name, **kw))
        return cls(built, manifest["thresholds"], encoder, manifest, policy)

    @classmethod
    def load(cls, path: str | Path, int8: bool = False, threads: int = 1,
             policy: GuardPolicy | None = None) -> Guard:
        """Verify and load a guard artifact directory (``int8``: the int8 graph); the
        n-gram scorer runs in numpy (``NgramScorer``, the weights of ``ngram.onnx``)."""
        art = open_guard_artifact(path, int8=int8)
        run = _session_runner(art.onnx_bytes, threads, art.onnx_path)
        ngram = _ngram_scorer(Path(path), art.manifest)
        return cls.from_runner(run, art.manifest, art.tokenizer_path, policy, ngram)

    def threshold(self, category: str, operating_point: str) -> float:
        by_op = self.thresholds.get(category)
        if not by_op:
            return 0.5
        return float(by_op.get(operating_point, by_op.get("balanced", 0.5)))

    def analyze(self, text: str, operating_point: str = "balanced",
                rules: tuple[str, ...] = DEFAULT_RULES, learned: bool = True
                ) -> tuple[dict[str, float], list[Span]]:
        """Raw scores per category and resolved spans in ORIGINAL text offsets (``rules``:
        the PII rules to run, ``rules.RULES`` names; ``learned=False``: not the learned
        check, so no injection / harmful score and no tagger spans)."""
        norm = self.normalizer(text)
        doc = Document(norm, self.encoder, operating_point, rules)
        scores: dict[str, float] = dict.fromkeys(ORDER, 0.0)
        found: list[Span] = []
        for check in self.checks:
            if not learned and check.name == "learned":
                continue
            res = check.run(doc)
            for k, v in res.scores.items():
                scores[k] = max(scores.get(k, 0.0), v)
            found += res.spans
        spans = resolve(found) if len(found) > 1 else found
        if norm.starts is not None:  # characters were added or removed: map back
            spans = [Span(s.entity_type, *norm.to_original(s.start, s.end), s.score, s.source)
                     for s in spans]
        return scores, spans

    def triggered(self, scores: Mapping[str, float], spans: Sequence[Span],
                  operating_point: str) -> list[str]:
        """Categories over their thresholds (span categories: any span)."""
        cats = {category_of(s.entity_type) for s in spans}
        def over(c: str) -> bool:
            return scores.get(c, 0.0) >= self.threshold(c, operating_point)

        return [c for c in ORDER if c in cats or (c not in ("pii", "secret") and over(c))]

    def check(self, text: str, policy: GuardPolicy | None = None,
              rules: tuple[str, ...] | None = None, learned: bool = True) -> GuardDecision:
        """Check one text with ``policy`` (default: the guard's). ``rules``: the PII rules
        to run; default the policy's (``GuardPolicy.rules``: no date or place scan where
        the policy redacts neither), ``rules.DEFAULT_RULES`` to report every type the
        rules find (``lmroute guard scan`` and ``eval``). ``learned=False``: rules and
        secrets only (a model's answer: the classifier is trained on requests)."""
        t0 = time.perf_counter_ns()
        pol = policy or self.policy
        scores, spans = self.analyze(text, pol.operating_point,
                                     pol.rules if rules is None else rules, learned)
        cats = self.triggered(scores, spans, pol.operating_point)
        actions = {c: pol.action(c) for c in cats}
        masked = [s for s in spans if actions.get(category_of(s.entity_type)) in
                  ("redact", "block") and (category_of(s.entity_type) == "secret"
                                           or pol.redacts(s.entity_type))]
        verdict = pol.verdict(cats)
        if verdict == "redact" and not masked:
            verdict = "flag"  # only unredactable entity types were found
        reason = ", ".join(f"{c}:{actions[c]}" for c in cats) or "clean"
        micros = (time.perf_counter_ns() - t0) / 1e3
        return GuardDecision(verdict, scores, cats, spans, redact(text, masked), micros,
                             reason, actions)
