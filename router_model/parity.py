"""ONNX Runtime vs PyTorch parity on fresh random inputs.

Random token ids (uniform over the vocabulary, random lengths with padding), random
weights in a realistic range and random non-empty model masks; compares every output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from router_model.graph import INPUT_NAMES, OUTPUT_NAMES, RouterGraph


@dataclass
class ParityReport:
    """Max absolute difference per float output, and the share of equal choices."""

    max_abs_diff: dict[str, float]
    choice_agreement: float
    n: int
    max_rel_diff: dict[str, float] | None = None  # |a - b| / max(|b|, 1)


def random_feeds(n: int, n_models: int, vocab: int = 30522, max_len: int = 64,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """n random requests: ids (n, T), mask (n, T), weights (n, 5), model_mask (n, M)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, max_len + 1, size=n)
    t = int(lengths.max())
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
    ids = rng.integers(1000, vocab, size=(n, t)) * mask
    ids[:, 0] = 101
    ids[np.arange(n), lengths - 1] = 102
    w = np.stack([rng.uniform(0, 200, n), rng.uniform(0, 1e-3, n), rng.uniform(0, 1e-3, n),
                  np.where(rng.random(n) < 0.3, rng.uniform(100, 5000, n), 3e38),
                  np.where(rng.random(n) < 0.3, rng.uniform(1e-5, 1e-2, n), 3e38)], 1)
    mm = rng.random((n, n_models)) < 0.7
    mm[np.arange(n), rng.integers(0, n_models, n)] = True
    return {"input_ids": ids, "attention_mask": mask, "weights": w.astype(np.float32),
            "model_mask": mm}


@torch.inference_mode()
def check_parity(graph: RouterGraph, onnx_path: Path, n_models: int, n: int = 64,
                 seed: int = 0) -> ParityReport:
    """Run both on the same random feeds (see module)."""
    feeds = random_feeds(n, n_models, seed=seed)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = dict(zip(OUTPUT_NAMES, sess.run(list(OUTPUT_NAMES), feeds), strict=True))
    ref = graph.eval()(*(torch.from_numpy(feeds[k]) for k in INPUT_NAMES))
    want = {k: v.numpy() for k, v in zip(OUTPUT_NAMES, ref, strict=True)}
    diffs, rel = {}, {}
    for k in OUTPUT_NAMES:
        if k == "choice":
            continue
        a, b = got[k].astype(np.float64), want[k].astype(np.float64)
        if k == "utility":  # excluded cells are NEG_INF in both; compare the rest
            keep = (a > -1e29) & (b > -1e29)
            a, b = a[keep], b[keep]
        diffs[k] = float(np.abs(a - b).max()) if a.size else 0.0
        rel[k] = float((np.abs(a - b) / np.maximum(np.abs(b), 1.0)).max()) if a.size else 0.0
    agree = float((got["choice"] == want["choice"]).mean())
    return ParityReport(diffs, agree, n, rel)
