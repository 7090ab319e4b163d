"""Fixtures for the guard tests: a small UNTRAINED guard artifact (random static table,
real MiniLM tokenizer), built once per session in a few seconds without the shared data.
Its learned scores are meaningless; the rules, secrets, windows, export, parity and
I/O formats are what the tests check with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from router_model.featurizer import StaticFeaturizer, token_flags
from router_model.guard.export import FP32, INT8, attach_manifest, export_guard, write_int8
from router_model.guard.manifest import GuardManifest
from router_model.guard.nets import GuardGraph, GuardNet
from router_model.tokenization import load_tokenizer, save_tokenizer

TAGS = ["O", "B-PERSON", "I-PERSON", "B-STREET_ADDRESS", "I-STREET_ADDRESS"]


def tiny_net(seed: int = 0) -> GuardNet:
    torch.manual_seed(seed)
    tok = load_tokenizer(512)
    rng = np.random.default_rng(seed)
    vocab = tok.get_vocab_size()
    table = rng.normal(size=(vocab, 16)).astype(np.float32)
    feat = StaticFeaturizer(table, np.ones(vocab, np.float32), token_flags(tok))
    return GuardNet(feat, 2, len(TAGS), hidden=16, conv_layers=1, token_dim=4,
                    ngram_buckets=1024, ngram_dim=8, dropout=0.0).eval()


def build_artifact(out: Path, thresholds: dict | None = None, width: int = 32,
                   stride: int = 24) -> tuple[Path, GuardNet]:
    out.mkdir(parents=True, exist_ok=True)
    net = tiny_net()
    tok_sha = save_tokenizer(load_tokenizer(512), out / "tokenizer.json")
    export_guard(GuardGraph(net), out / FP32)
    write_int8(out / FP32, out / INT8)
    th = thresholds or {"injection": {"balanced": 0.5, "strict": 0.4, "permissive": 0.6},
                        "harmful": {"balanced": 0.5, "strict": 0.4, "permissive": 0.6},
                        "tag": {"balanced": 0.99, "strict": 0.99, "permissive": 0.99}}
    m = GuardManifest(["injection", "harmful"], TAGS, th, {"note": "untrained test artifact"},
                      {"width": width, "stride": stride}, ["pii_rules", "secrets", "learned"],
                      {"sha256": tok_sha, "max_tokens": 512}, {"kind": "static", "dim": 16},
                      {"name": "GuardNet"}, "test")
    attach_manifest(out, m)
    return out, net


@pytest.fixture(scope="session")
def tiny_guard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifact(tmp_path_factory.mktemp("guard"))[0]


@pytest.fixture(scope="session")
def tiny_guard(tiny_guard_dir: Path):
    from router_model.guard.runtime import Guard

    return Guard.load(tiny_guard_dir)
