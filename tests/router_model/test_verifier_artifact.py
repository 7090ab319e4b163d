"""The verifier artifact (``lmroute verifier train``'s output): the threshold rules, the
export with its ONNX-vs-torch parity check, the manifest's hash checks, and the runtime
scoring one answer as the torch model does. ``tiny_verifier`` builds the artifact the
gateway tests serve (answers saying "certainly" are correct, "not sure" wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from router_model.featurizer import build_featurizer, featurize
from router_model.tokenization import load_tokenizer, source_model_dir
from router_model.verifier import Verifier, VerifierConf
from router_model.verifier_artifact import (
    ArtifactInputs,
    VerifierArtifactError,
    VerifierRuntime,
    read_manifest,
    write_verifier_artifact,
)
from router_model.verifier_train import choose_tau, validation_stats

GOOD, BAD = "certainly the answer is", "i am not sure, maybe"


def tiny_verifier(out_dir: Path, prompts: np.ndarray, models: list[str], router_sha: str,
                  tokenizer_path: Path | None = None, max_tokens: int = 64,
                  tau: float = 0.5) -> Path:
    """A verifier whose score follows the answer's wording (prompts (n, d) features)."""
    rng = np.random.default_rng(0)
    n = len(prompts)
    y = (rng.random(n) < 0.5).astype(float)
    texts = [f"{GOOD if c else BAD} {rng.integers(100)}" for c in y]
    model = rng.integers(0, len(models), n)
    path = tokenizer_path or source_model_dir() / "tokenizer.json"
    tok = load_tokenizer(max_tokens, path)
    feat, _ = build_featurizer("static", tok, texts, 32, 1e-3, 0)
    A = featurize(feat, tok, texts)
    torch.manual_seed(0)
    v = Verifier(VerifierConf(epochs=10)).fit(prompts, A, model, y, len(models))
    p = v.predict_proba(prompts, A, model)
    inp = ArtifactInputs(models, tau, "fixed", validation_stats(p, y > 0.5, tau), router_sha,
                         path, max_tokens, prompts.shape[1])
    write_verifier_artifact(out_dir, feat, v, inp, texts[:16], prompts[:16])
    return out_dir


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    P = np.random.default_rng(1).normal(size=(600, 8)).astype(np.float32)
    return tiny_verifier(tmp_path_factory.mktemp("v") / "verifier", P, ["a", "b"], "sha-x")


def test_tau_rules_are_the_stated_ones() -> None:
    rng = np.random.default_rng(0)
    correct = rng.random(2000) < 0.6
    p = np.clip(0.5 + 0.25 * (correct - 0.5) + rng.normal(0, 0.15, 2000), 0, 1)
    tau = choose_tau(p, correct, "youden")
    grid = np.unique(p)
    j = [(p[correct] >= t).mean() - (p[~correct] >= t).mean() for t in grid]
    assert abs(max(j) - ((p[correct] >= tau).mean() - (p[~correct] >= tau).mean())) < 1e-9
    tp = choose_tau(p, correct, "precision", 0.9)
    assert correct[p >= tp].mean() >= 0.9
    smaller = grid[grid < tp]
    assert not len(smaller) or correct[p >= smaller[-1]].mean() < 0.9
    with pytest.raises(ValueError, match="tau_rule"):
        choose_tau(p, correct, "nope")


def test_runtime_scores_as_the_trained_model(artifact: Path) -> None:
    m = read_manifest(artifact)
    assert m["parity_max_abs_diff"] < 1e-4 and m["router_onnx_sha256"] == "sha-x"
    assert m["validation"]["auc"] > 0.9  # the wording is the signal
    rt = VerifierRuntime(artifact)
    P = np.zeros(8, dtype=np.float32)
    good, bad = rt.score(P, f"{GOOD} 7", "a"), rt.score(P, f"{BAD} 7", "a")
    assert good > rt.tau > bad
    assert 0.0 <= rt.score(P, "", "b") <= 1.0  # an empty answer is scored, not an error
    with pytest.raises(ValueError, match="model"):
        rt.score(P, "x", "unknown-model")
    with pytest.raises(ValueError, match="prompt_features"):
        rt.score(np.zeros(3), "x", "a")


def test_a_tampered_artifact_is_refused(artifact: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(artifact, bad)
    with open(bad / "verifier.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(VerifierArtifactError, match=r"verifier\.onnx"):
        VerifierRuntime(bad)
    m = json.loads((artifact / "manifest.json").read_text())
    (bad / "manifest.json").write_text(json.dumps({**m, "kind": "router"}))
    with pytest.raises(VerifierArtifactError, match="kind"):
        read_manifest(bad)
    with pytest.raises(VerifierArtifactError, match="missing"):
        read_manifest(tmp_path / "nothing")


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from router_model.verifier_cli import main

    assert main(["train", f"out_dir={tmp_path}"]) == 2  # router is required (???)
    assert main(["train", f"router={tmp_path / 'none'}", f"out_dir={tmp_path}",
                 f"shared_data={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "router" in err and "Traceback" not in err
    assert main(["frobnicate"]) == 2
