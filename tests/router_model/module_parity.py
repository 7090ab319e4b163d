"""Shared check for policies that export a torch module: the module's outputs equal the
policy's numpy predictions, and the module exports to ONNX with parity (behind a stand-in
featurizer that returns fixed features); and the toy log they are fitted on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from data.matrix import FullInfo


def toy_log(seed: int = 0, n: int = 400) -> tuple[np.ndarray, FullInfo]:
    """X (n, 12) and a 3-model log whose quality depends on a task that X[:, 0] reveals."""
    rng = np.random.default_rng(seed)
    M, d = 3, 12
    X = rng.normal(size=(n, d)).astype(np.float32)
    tasks = np.where(X[:, 0] > 0, "a", "b")
    q = (rng.random((n, M)) < np.where(tasks[:, None] == "a", 0.8, 0.3)).astype(float)
    c = np.tile([1e-3, 1e-4, 5e-4], (n, 1))
    return X, FullInfo(np.arange(n).astype(str), np.array(["x"] * n), tasks,
                       ["m0", "m1", "m2"], q, c, np.ones((n, M)), np.ones((n, M)))


def assert_module_matches_and_exports(pol: Any, X: np.ndarray, tmp_path: Path) -> None:
    """pol: a fitted policy with ``torch_module()``; X: (n, d) float32 features it was
    fitted on."""
    from router_model.export import export_graph
    from router_model.graph import RouterGraph
    from router_model.parity import check_parity

    mod = pol.torch_module()
    with torch.inference_mode():
        got = [t.numpy() for t in mod(torch.from_numpy(X))]
    pred = pol.predict(X)
    assert np.abs(got[0] - pred.quality).max() < 1e-5
    assert np.abs(got[1] - pred.cost_usd).max() / pred.cost_usd.max() < 1e-4

    class _Feat(torch.nn.Module):  # ids -> the fixed features of the first rows
        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(X[:1]).expand(ids.shape[0], -1) + 0 * mask[:, :1]

    M = len(pol.models_)
    graph = RouterGraph(_Feat(), mod)
    export_graph(graph, tmp_path / "router.onnx", M, "legacy")
    rep = check_parity(graph, tmp_path / "router.onnx", M, n=16)
    assert rep.choice_agreement == 1.0 and rep.max_abs_diff["quality"] < 1e-5
