"""Word-level BIO decoding of the tagger (with a scripted graph, not a trained one)."""

from __future__ import annotations

import numpy as np

from router_model.guard.base import Document
from router_model.guard.checks import Learned
from router_model.guard.encoding import GuardEncoder
from router_model.guard.normalize import Normalizer
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
