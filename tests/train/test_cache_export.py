"""The verifier's ONNX graph matches PyTorch (parity), its artifact is verified on load,
and the operating point meets its targets on the data it was chosen on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from serve.cache.verifier import Verifier, VerifierError
from train.cache_calibrate import operating_point, recall_at_fhr, threshold_for
from train.cache_export import check_parity, random_pairs, write_artifact
from train.cache_model import PairVerifier, verifier_flags


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):  # -> (dir, model)
    from router_model.tokenization import load_tokenizer

    torch.manual_seed(0)
    tok = load_tokenizer(512)
    v = tok.get_vocab_size()
    table = np.random.default_rng(0).normal(0, 0.3, (v, 16)).astype(np.float32)
    model = PairVerifier(table, verifier_flags(tok.get_vocab(), v), hidden=16)
    model.scale.data.fill_(1.3)
    model.bias.data.fill_(-0.2)
    out = tmp_path_factory.mktemp("verifier")
    info = {"operating_point": {"threshold": 0.5, "false_hit_rate": 0.01}, "data": {}}
    write_artifact(model, out, tok, 32, info, parity_samples=16)
    return out, model


def test_onnx_matches_torch_on_fresh_random_pairs(artifact) -> None:
    out, model = artifact
    diffs = check_parity(model, out / "verifier.onnx", random_pairs(64, 30522, 32, seed=7))
    assert diffs["max_abs_logit"] < 1e-4 and diffs["max_abs_probability"] < 1e-5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parity"]["max_abs_probability"] < 1e-5


def test_runtime_scores_are_symmetric_and_refuse_long_texts(artifact) -> None:
    v = Verifier(artifact[0])
    a, b = "how do I learn python", "what is the best way to learn python"
    s1, s2 = v.score(a, [b])[0], v.score(b, [a])[0]
    assert abs(s1 - s2) < 1e-5 and 0.0 <= s1 <= 1.0
    assert not v.fits(v.ids("word " * 40)) and v.fits(v.ids(a))


def test_a_tampered_artifact_is_refused(artifact, tmp_path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(artifact[0], bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["operating_point"]["threshold"] = 0.01
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifierError, match="embedded manifest"):
        Verifier(bad)
    (bad / "tokenizer.json").write_text("{}")
    with pytest.raises(VerifierError, match="tokenizer"):
        Verifier(bad)


def test_operating_point_meets_its_targets() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    labels = (rng.random(n) < 0.4).astype(int)
    probs = np.clip(rng.normal(0.3 + 0.4 * labels, 0.2), 0, 1)
    cats = np.array(["qqp"] * n, dtype=object)
    cats[:600] = "negation"
    labels[:600] = 0
    op = operating_point(probs, labels, list(cats), 0.02, 0.05)
    assert op.false_hit_rate <= 0.02 and op.per_category["negation"] <= 0.05
    rec, t = recall_at_fhr(probs[600:], labels[600:], 0.02)
    assert op.hit_rate <= rec + 1e-9 and t <= op.threshold + 1e-9
    assert threshold_for(np.array([0.1, 0.9]), 0.0) > 0.9


def test_decision_judges_the_nearest_candidates_past_the_gate_only(artifact) -> None:
    from serve.cache.decision import OUT, VerifierDecision

    cands = ["how to learn python", "learning python fast", "python for beginners",
             "bake bread"]
    sims = np.array([0.7, 0.9, 0.6, 0.3])
    every = VerifierDecision(str(artifact[0]), min_similarity=0.5)
    one = VerifierDecision(str(artifact[0]), min_similarity=0.5, max_judged=1)
    all_scores = every.judge("how do I learn python", cands, sims)
    top = one.judge("how do I learn python", cands, sims)
    assert np.all(all_scores[:3] > OUT) and all_scores[3] == OUT  # 0.3 is below the gate
    assert top[1] == pytest.approx(all_scores[1], abs=1e-6)  # the nearest (0.9) only
    assert top[0] == top[2] == top[3] == OUT
    with pytest.raises(ValueError, match="max_judged"):
        VerifierDecision(str(artifact[0]), max_judged=-1)
