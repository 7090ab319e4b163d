"""The cross-encoder verifier reads the two padded texts as BERT's one packed sequence,
and its ONNX export (the artifact the cache serves) matches PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train.cache_cross_model import CrossVerifier

A = ["How do I learn Python fast?", "What is the capital of France, and why is it Paris?"]
B = ["What is the best way to learn Python quickly?", "Capital of France?"]


@pytest.fixture(scope="module")
def model() -> CrossVerifier:
    torch.manual_seed(0)
    m = CrossVerifier().eval()
    m.scale.data.fill_(1.7)
    m.bias.data.fill_(-0.4)
    return m


def _side(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    from router_model.tokenization import load_tokenizer

    enc = load_tokenizer(512).encode_batch(texts)
    return (torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc]))


def _packed(model: CrossVerifier, a: list[str], b: list[str]) -> torch.Tensor:
    """The reference: tokenizer-packed "[CLS] a [SEP] b [SEP]", no padding in the middle."""
    from router_model.tokenization import load_tokenizer

    enc = load_tokenizer(512).encode_batch(list(zip(a, b, strict=True)))
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    types = torch.tensor([e.type_ids for e in enc])
    h = model.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    m = mask.unsqueeze(-1).float()
    return model.head((h * m).sum(1) / m.sum(1)).squeeze(-1)


@torch.no_grad()
def test_padded_pair_equals_the_packed_sequence(model: CrossVerifier) -> None:
    (ia, ma), (ib, mb) = _side(A), _side(B)
    assert (ma == 0).any(), "the first text must be padded for this test to mean anything"
    got = model.logits(ia, ma, ib, mb)
    ref = _packed(model, A, B)
    assert torch.allclose(got, ref, atol=1e-5)
    # control: the same concatenation with default positions (padding counted) differs
    ids = torch.cat([ia, ib[:, 1:]], 1)
    mask = torch.cat([ma, mb[:, 1:]], 1)
    types = torch.cat([torch.zeros_like(ma), torch.ones_like(mb[:, 1:])], 1)
    h = model.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    naive = model.head((h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).squeeze(-1)
    assert (naive - ref).abs().max() > 1e-3


@torch.no_grad()
def test_calibrated_probability_is_in_the_graph(model: CrossVerifier) -> None:
    (ia, ma), (ib, mb) = _side(A), _side(B)
    z, p = model(ia, ma, ib, mb)
    assert torch.allclose(p, torch.sigmoid(1.7 * z - 0.4))


@pytest.mark.slow
def test_onnx_artifact_matches_torch_and_loads(model: CrossVerifier, tmp_path) -> None:
    from router_model.tokenization import load_tokenizer
    from serve.cache.verifier import Verifier
    from train.cache_export import write_artifact

    info = {"operating_point": {"threshold": 0.5, "false_hit_rate": 0.01}, "data": {}}
    manifest = write_artifact(model, tmp_path, load_tokenizer(512), 32, info,
                              parity_samples=8)
    assert manifest["parity"]["max_abs_probability"] < 1e-4
    v = Verifier(tmp_path)
    got = v.score(A[0], [B[0], B[1]])
    _, ref = model(*_side([A[0], A[0]]), *_side([B[0], B[1]]))
    assert np.allclose(got, ref.numpy(), atol=1e-4)
