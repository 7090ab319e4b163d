"""Word-level BIO decoding of the tagger (with a scripted graph, not a trained one)."""

from __future__ import annotations

import numpy as np

from router_model.guard.base import Document
from router_model.guard.checks import Learned
from router_model.guard.encoding import GuardEncoder
from router_model.guard.normalize import Normalizer
from router_model.guard.rules import validate
from router_model.tokenization import load_tokenizer

TAGS = ["O", "B-PERSON", "I-PERSON", "B-GPE", "I-GPE"]


def test_bio_spans_per_word() -> None:
    tok = load_tokenizer(512)
    tok.no_truncation()
    enc = GuardEncoder(tok)
    text = "Ask Szabina Gelencsér and Ann in Helsinki today"
    doc = Document(Normalizer()(text), enc)
    e = doc.encoding
    starts, _ = e.offsets(np.arange(len(e)))
    word = {text[s:].split()[0]: i for i, s in enumerate(starts.tolist())
            if e.shapes[i] & 8 == 0}
    want = {"Szabina": 1, "Gelencsér": 2, "Ann": 1, "Helsinki": 3}

    def run(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        k, t = feeds["input_ids"].shape
        p = np.zeros((k, t, len(TAGS)), dtype=np.float32)
        p[..., 0] = 1.0
        for w, tag in want.items():  # every piece of the word: the word's tag
            i = word[w]
            j = i + 1
            while j < len(e) and e.shapes[j] & 8:
                j += 1
            p[0, i + 1:j + 1, 0], p[0, i + 1:j + 1, tag] = 0.0, 1.0
        return [np.zeros((k, 2), dtype=np.float32), p]

    check = Learned(run, ["injection", "harmful"], TAGS, {"balanced": 0.5}, 128, 96,
                    enc.cls_id, enc.sep_id)
    spans = check.run(doc).spans
    got = [(s.entity_type, text[s.start:s.end]) for s in spans]
    assert got == [("PERSON", "Szabina Gelencsér"), ("PERSON", "Ann"), ("GPE", "Helsinki")]


def _reference_spans(doc: Document, p: np.ndarray, tau: float, tags: list[str]
                     ) -> list[tuple[str, int, int, float]]:
    """The word-by-word loop the vectorised decoder replaced (same rule, spelled out)."""
    enc = doc.encoding
    types = sorted({t[2:] for t in tags if t != "O"})
    out: list[tuple[str, int, int, float]] = []
    cur: list = []
    first = [i for i in range(len(enc)) if enc.shapes[i] & 8 == 0]
    for w, i in enumerate(first):
        j = first[w + 1] - 1 if w + 1 < len(first) else len(enc) - 1
        ent = 1.0 - p[i, 0]
        if ent < tau:
            if cur:
                out.append(cur[0])
            cur = []
            continue
        mass = [p[i, tags.index(f"B-{t}")] + p[i, tags.index(f"I-{t}")] for t in types]
        k = int(np.argmax(mass))
        begin = p[i, tags.index(f"B-{types[k]}")] >= p[i, tags.index(f"I-{types[k]}")]
        (s, _), (_, e) = (x[0] for x in enc.offsets(np.array([i]))), \
            (x[0] for x in enc.offsets(np.array([j])))
        if cur and not begin and cur[1] == k:
            t, a, _, probs = cur[0]
            cur = [(t, a, int(e), [*probs, ent]), k]
        else:
            if cur:
                out.append(cur[0])
            cur = [(types[k], int(s), int(e), [ent]), k]
    if cur:
        out.append(cur[0])
    text = doc.text  # the decoder keeps the spans the rules' validate does not reject
    return [(t, a, b, float(np.mean(ps))) for t, a, b, ps in out
            if validate(t, text[a:b]) is not False]


def test_vectorised_decoding_equals_the_word_loop() -> None:
    tok = load_tokenizer(512)
    tok.no_truncation()
    enc = GuardEncoder(tok)
    text = ("Dear Mr. Szabina Gelencsér of 221B Baker Street, London NW1 6XE: call Ann "
            "O'Neil-Smith at Acme Corp. tomorrow, unbelievably early, in Helsinki.")
    doc = Document(Normalizer()(text), enc)
    n = len(doc.encoding)
    check = Learned(lambda f: [], ["injection", "harmful"], TAGS, {}, 128, 96,
                    enc.cls_id, enc.sep_id)
    rng = np.random.default_rng(0)
    compared = 0
    for trial in range(200):
        logits = rng.normal(size=(n, len(TAGS))) * 3
        logits[:, 0] += rng.uniform(-3, 3)
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        tau = float(rng.uniform(0.05, 0.95))
        got = [(s.entity_type, s.start, s.end, s.score) for s in check._spans(doc, p, tau)]
        want = _reference_spans(doc, p, tau, TAGS)
        assert [g[:3] for g in got] == [w[:3] for w in want], trial
        assert np.allclose([g[3] for g in got], [w[3] for w in want])
        compared += len(want)
    assert compared > 200  # the random cases did produce spans
