"""The verifier artifact on disk and at request time: ``verifier.onnx`` + ``manifest.json``
+ ``tokenizer.json`` (the router's), and ``VerifierRuntime``, which scores one answer.

``manifest.json``: ``kind`` ("lmroute-verifier"), ``models`` (the one-hot order: the
router's models), ``tau`` and ``tau_rule`` (escalate when p(correct) < tau), ``validation``
(AUC, precision / recall of "accept" at tau, counts), ``router_onnx_sha256`` (the router
whose ``features`` output the verifier was trained on: prompt features of any other router
mean nothing to it), ``tokenizer_sha256``, ``max_tokens``, ``d_prompt``, ``onnx_sha256``
and the ONNX-vs-torch parity (``parity_max_abs_diff``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from router_model.tokenization import encode, file_sha256, load_tokenizer
from router_model.verifier import VERIFIER_INPUTS, Verifier, VerifierGraph, export_verifier

KIND = "lmroute-verifier"
PARITY_TOL = 1e-4
REQUIRED = ("models", "tau", "router_onnx_sha256", "tokenizer_sha256", "max_tokens",
            "d_prompt", "onnx_sha256")


class VerifierArtifactError(ValueError):
    """A verifier directory that cannot be used (names the file and field)."""


@dataclass
class ArtifactInputs:
    """What ``write_verifier_artifact`` needs besides the fitted parts."""

    models: list[str]
    tau: float
    tau_rule: str
    validation: dict[str, Any]
    router_onnx_sha256: str
    tokenizer_path: Path
    max_tokens: int
    d_prompt: int


def write_verifier_artifact(out_dir: Path, featurizer: torch.nn.Module, verifier: Verifier,
                            inp: ArtifactInputs, parity_texts: list[str],
                            parity_prompts: np.ndarray) -> dict[str, Any]:
    """Export ``verifier.onnx``, check it against torch on ``parity_texts`` (raises
    ``VerifierArtifactError`` beyond ``PARITY_TOL``), copy the tokenizer, write the
    manifest; returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "verifier.onnx"
    graph = export_verifier(featurizer, verifier, inp.d_prompt, onnx_path)
    shutil.copyfile(inp.tokenizer_path, out_dir / "tokenizer.json")
    tok = load_tokenizer(inp.max_tokens, out_dir / "tokenizer.json")
    diff = parity(graph, onnx_path, tok, parity_texts, parity_prompts)
    if diff > PARITY_TOL:
        raise VerifierArtifactError(f"{onnx_path}: ONNX and torch differ by {diff:.2e} "
                                    f"(> {PARITY_TOL:g})")
    manifest = {"kind": KIND, "models": list(inp.models), "tau": float(inp.tau),
                "tau_rule": inp.tau_rule, "validation": inp.validation,
                "router_onnx_sha256": inp.router_onnx_sha256,
                "tokenizer_sha256": file_sha256(out_dir / "tokenizer.json"),
                "max_tokens": inp.max_tokens, "d_prompt": inp.d_prompt,
                "onnx_sha256": file_sha256(onnx_path), "parity_max_abs_diff": diff}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def parity(graph: VerifierGraph, onnx_path: Path, tok: Any, texts: list[str],
           prompts: np.ndarray) -> float:
    """Max |ONNX - torch| of p_correct over ``texts`` (model index cycling)."""
    ids, mask = encode(tok, [t or " " for t in texts])
    n_models = graph.head.n_models
    feeds = {"answer_ids": ids, "answer_mask": mask,
             "prompt_features": prompts.astype(np.float32),
             "model_index": (np.arange(len(texts)) % n_models).astype(np.int64)}
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(["p_correct"], feeds)[0]
    with torch.inference_mode():
        want = graph(*(torch.from_numpy(feeds[k]) for k in VERIFIER_INPUTS)).numpy()
    return float(np.abs(got - want).max())


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, with its files and hashes checked."""
    path = directory / "manifest.json"
    if not path.is_file():
        raise VerifierArtifactError(f"{path}: missing (train one with `lmroute verifier "
                                    "train router=DIR out_dir=DIR`)")
    manifest = json.loads(path.read_text())
    if manifest.get("kind") != KIND:
        raise VerifierArtifactError(f"{path}: kind: expected {KIND!r}, got "
                                    f"{manifest.get('kind')!r}")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise VerifierArtifactError(f"{path}: missing fields {missing}")
    for name, key in (("verifier.onnx", "onnx_sha256"), ("tokenizer.json", "tokenizer_sha256")):
        f = directory / name
        if not f.is_file() or file_sha256(f) != manifest[key]:
            raise VerifierArtifactError(f"{f}: missing or its SHA-256 differs from "
                                        f"manifest.json {key}")
    if not 0.0 <= float(manifest["tau"]) <= 1.0:
        raise VerifierArtifactError(f"{path}: tau: expected in [0, 1], got {manifest['tau']}")
    return manifest


class VerifierRuntime:
    """A loaded verifier: ``score(prompt_features, answer, model) -> p(correct)``.

    One ONNX Runtime session (one thread, like the router's); thread-safe after loading."""

    def __init__(self, directory: str | Path) -> None:
        from router_model.runtime import session_options

        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.models: list[str] = list(self.manifest["models"])
        self.tau = float(self.manifest["tau"])
        self.router_sha = str(self.manifest["router_onnx_sha256"])
        self.d_prompt = int(self.manifest["d_prompt"])
        self.tokenizer = load_tokenizer(int(self.manifest["max_tokens"]),
                                        self.directory / "tokenizer.json")
        self._index = {m: i for i, m in enumerate(self.models)}
        self.session = ort.InferenceSession(str(self.directory / "verifier.onnx"),
                                            session_options(1),
                                            providers=["CPUExecutionProvider"])

    def knows(self, model: str) -> bool:
        return model in self._index

    def score(self, prompt_features: np.ndarray, answer: str, model: str) -> float:
        """p(correct) of ``answer`` by ``model`` to the prompt whose router features
        (d_prompt,) are given. Raises ``ValueError`` naming the bad input."""
        if model not in self._index:
            raise ValueError(f"model: {model!r} is not one of the verifier's models")
        feats = np.asarray(prompt_features, dtype=np.float32).reshape(1, -1)
        if feats.shape[1] != self.d_prompt:
            raise ValueError(f"prompt_features: expected {self.d_prompt} values, got "
                             f"{feats.shape[1]}")
        ids, mask = encode(self.tokenizer, [answer if answer.strip() else " "])
        out = self.session.run(["p_correct"], {
            "answer_ids": ids, "answer_mask": mask, "prompt_features": feats,
            "model_index": np.array([self._index[model]], dtype=np.int64)})[0]
        return float(out[0])
