"""The learned check of the trained guard ``runs/guard/v8`` gives the scores (within
1e-5) and the tagger spans (types and offsets exact, scores within 1e-5) recorded with
the code before the input-check speed work (``data/learned_v8.json``, texts in
``golden_texts``): the numpy n-gram scorer, the vectorised offsets and any re-exported
graph of the same weights (``runs/guard/v8-*``) must not change a decision. Skipped
where the artifact is absent (it is not in git) or is another training run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from router_model.guard.base import Document
from router_model.guard.runtime import Guard

from .golden_texts import TEXTS

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = json.loads((Path(__file__).parent / "data" / "learned_v8.json").read_text())
# v8 and its re-exports (v8-*: artifact directories only, not eval outputs beside them)
DIRS = sorted({ROOT / "runs/guard/v8", *(p for p in (ROOT / "runs/guard").glob("v8-*")
                                          if (p / "manifest.json").is_file())})


@pytest.mark.parametrize("directory", DIRS, ids=lambda p: p.name)
def test_learned_check_reproduces_the_recorded_outputs(directory: Path) -> None:
    if not (directory / "manifest.json").is_file():
        pytest.skip(f"{directory} absent")
    guard = Guard.load(directory)
    if guard.manifest.get("train_data_sha256") != GOLDEN["train_data_sha256"] or \
            guard.manifest.get("ngram", {}).get("sha256") != GOLDEN["ngram_sha256"]:
        pytest.skip(f"{directory} is another training run")
    learned = guard.checks[-1]
    by_text = {hashlib.sha256(t.encode()).hexdigest()[:16]: t for t in TEXTS}
    for want in GOLDEN["outputs"]:
        text = by_text[want["text_sha256"]]
        got = learned.run(Document(guard.normalizer(text), guard.encoder,
                                   want["operating_point"]))
        assert got.scores.keys() == want["scores"].keys()
        for k, v in want["scores"].items():
            assert got.scores[k] == pytest.approx(v, abs=1e-5), (k, text[:40])
        spans = [[s.entity_type, s.start, s.end] for s in got.spans]
        assert spans == [s[:3] for s in want["spans"]], text[:40]
        for s, w in zip(got.spans, want["spans"], strict=True):
            assert s.score == pytest.approx(w[3], abs=1e-5)
