"""The cascade's verifier and the blend policy ship as ONNX: parity with torch / numpy,
and the verifier learns a signal the answers carry (and none from shuffled labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from router_model.featurizer import build_featurizer, featurize
from router_model.tokenization import encode, load_tokenizer
from router_model.verifier import Verifier, VerifierConf, export_verifier
from tests.router_model.module_parity import assert_module_matches_and_exports, toy_log


def _answers(n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Answers whose wording reveals correctness for model 0 only; model 1 is random."""
    model = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.5).astype(float)
    words = np.where(y > 0, "certainly the answer is", "i am not sure, maybe")
    texts = [f"{w} {rng.integers(100)}" if m == 0 else f"answer {rng.integers(100)}"
             for w, m in zip(words, model, strict=True)]
    return texts, model, y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    texts, model, y = _answers(1200, rng)
    tok = load_tokenizer(64)
    feat, _ = build_featurizer("static", tok, texts[:800], 32, 1e-3, 0)
    A = featurize(feat, tok, texts)
    P = rng.normal(size=(len(texts), 8)).astype(np.float32)
    v = Verifier(VerifierConf(epochs=8)).fit(P[:800], A[:800], model[:800], y[:800], 2)
    path = tmp_path_factory.mktemp("verifier") / "verifier.onnx"
    graph = export_verifier(feat, v, 8, path)
    return texts, model, y, tok, P, A, v, graph, path


def test_verifier_learns_what_the_answer_says_and_not_from_shuffled_labels(fitted) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import roc_auc_score

    _, model, y, _, P, A, v, _, _ = fitted
    te = np.arange(800, 1200)
    m0 = te[model[te] == 0]
    assert roc_auc_score(y[m0], v.predict_proba(P[m0], A[m0], model[m0])) > 0.9
    shuffled = np.random.default_rng(1).permutation(y[:800])  # negative control
    vs = Verifier(VerifierConf(epochs=8)).fit(P[:800], A[:800], model[:800], shuffled, 2)
    assert roc_auc_score(y[m0], vs.predict_proba(P[m0], A[m0], model[m0])) < 0.65


def test_verifier_onnx_matches_torch(fitted) -> None:  # type: ignore[no-untyped-def]
    texts, model, _, tok, P, _, _, graph, path = fitted
    ids, mask = encode(tok, texts[800:864])
    feeds = {"answer_ids": ids, "answer_mask": mask, "prompt_features": P[800:864],
             "model_index": model[800:864].astype(np.int64)}
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        ["p_correct"], feeds)[0]
    with torch.inference_mode():
        want = graph(*(torch.from_numpy(feeds[k]) for k in feeds)).numpy()
    assert np.abs(got - want).max() < 1e-5


def test_blend_module_matches_the_policy_and_exports(tmp_path: Path) -> None:
    from router_model.policies.blend import BlendPolicy

    X, log = toy_log()
    pol = BlendPolicy(alpha=0.4, hidden=8, epochs=3, n_ensemble=2).fit(X, log)
    assert_module_matches_and_exports(pol, X, tmp_path)


def test_knn_blend_is_the_blend_rule_with_the_knn_as_partner() -> None:
    """alpha = 0 is knn_inferred, alpha = 1 the ensemble; no torch module (eval only)."""
    from router_model.policies.knn_blend import KNNBlendPolicy
    from router_model.policies.text_baselines import KNNInferredPolicy

    X, log = toy_log()
    kw = {"hidden": 8, "epochs": 2, "n_ensemble": 1, "k": 5, "lam": 2.0}
    knn = KNNInferredPolicy(5, 2.0, 10.0).fit(X, log).predict(X).quality
    zero = KNNBlendPolicy(alpha=0.0, **kw).fit(X, log)
    assert np.allclose(zero.predict(X).quality, knn)
    one = KNNBlendPolicy(alpha=1.0, **kw).fit(X, log)
    assert np.allclose(one.predict(X).quality, one.base_.predict(X).quality)
    assert not np.allclose(knn, one.base_.predict(X).quality)
    with pytest.raises(NotImplementedError, match="KNNInferredPolicy"):
        zero.torch_module()
