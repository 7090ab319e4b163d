"""A seed ensemble of guard nets exports to one ONNX graph that computes the mean of its
members' probabilities (parity with the training modules), holds the shared frozen
featurizer table once, and is not just its first member (negative control)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from router_model.guard.export import export_guard
from router_model.guard.nets import OUTPUT_NAMES, GuardGraph, GuardNet, exported_form
from router_model.guard.parity import check_guard_parity, guard_feeds

from .conftest import TAGS, tiny_net


def _second_member(first: GuardNet, seed: int) -> GuardNet:
    """Another net over the SAME featurizer object (as the pipeline builds them)."""
    torch.manual_seed(seed)
    return GuardNet(first.featurizer, 2, len(TAGS), hidden=16, conv_layers=1, token_dim=4,
                    ngram_buckets=1024, ngram_dim=8, dropout=0.0).eval()


def test_ensemble_graph_is_the_mean_of_its_members(tmp_path: Path) -> None:
    a = tiny_net(0)
    b = _second_member(a, 1)
    assert isinstance(exported_form([a]), GuardGraph)
    path = tmp_path / "ens.onnx"
    export_guard(exported_form([a, b]).eval(), path)
    parity = check_guard_parity([a, b], path, n=32)
    assert parity.max_abs_diff["scores"] < 1e-5 and parity.max_abs_diff["tag_probs"] < 1e-5

    # negative control: the graph is not member a alone
    solo = tmp_path / "a.onnx"
    export_guard(exported_form([a]).eval(), solo)
    feeds = guard_feeds(16, seed=3)
    got = dict(zip(OUTPUT_NAMES, ort.InferenceSession(str(path)).run(list(OUTPUT_NAMES), feeds),
                   strict=True))
    one = dict(zip(OUTPUT_NAMES, ort.InferenceSession(str(solo)).run(list(OUTPUT_NAMES), feeds),
                   strict=True))
    assert np.abs(got["scores"] - one["scores"]).max() > 1e-3
    assert check_guard_parity(a, path, n=32).max_abs_diff["scores"] > 1e-3

    # the shared static table is stored once, not once per member
    names = [i.name for i in onnx.load(str(path)).graph.initializer]
    assert len([n for n in names if n.endswith("featurizer.table.weight")]) == 1, names
    assert len([n for n in names if n.endswith(".lin.weight")]) == 2, names  # one per member


def test_reexport_refuses_an_ensemble_graph_by_name(tmp_path: Path) -> None:
    import pytest

    from router_model.guard.reexport import graph_from_onnx

    a = tiny_net(0)
    path = tmp_path / "ens.onnx"
    export_guard(exported_form([a, _second_member(a, 1)]).eval(), path)
    with pytest.raises(ValueError, match="seed ensemble"):
        graph_from_onnx(onnx.load(str(path)))
