"""ONNX Runtime vs PyTorch parity of the guard graph on fresh random inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from router_model.guard.encoding import N_SHAPES
from router_model.guard.nets import INPUT_NAMES, OUTPUT_NAMES, GuardNet, mean_probabilities
from router_model.parity import random_feeds


@dataclass
class GuardParity:
    """Max |diff| of the float outputs and the share of equal most likely tags."""

    max_abs_diff: dict[str, float]
    type_agreement: float
    n: int


def guard_feeds(n: int, max_len: int = 128, seed: int = 0) -> dict[str, np.ndarray]:
    """n random windows: ids and mask as the router's parity feeds, random shapes."""
    base = random_feeds(n, 1, max_len=max_len, seed=seed)
    rng = np.random.default_rng(seed + 1)
    mask = base["attention_mask"]
    shapes = rng.integers(0, N_SHAPES, size=mask.shape) * mask
    return {"input_ids": base["input_ids"], "attention_mask": mask,
            "shape_ids": shapes.astype(np.int64)}


@torch.inference_mode()
def check_guard_parity(net: GuardNet | list[GuardNet], onnx_path: Path, n: int = 64,
                       seed: int = 0) -> GuardParity:
    """ONNX (folded tables) against the TRAINING module(s) (unfolded; a list: the seed
    ensemble, their mean probabilities) on the same feeds."""
    nets = net if isinstance(net, list) else [net]
    feeds = guard_feeds(n, seed=seed)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = dict(zip(OUTPUT_NAMES, sess.run(list(OUTPUT_NAMES), feeds), strict=True))
    ref = mean_probabilities(nets, *(torch.from_numpy(feeds[k]) for k in INPUT_NAMES))
    want = {k: v.numpy() for k, v in zip(OUTPUT_NAMES, ref, strict=True)}
    mask = feeds["attention_mask"].astype(bool)
    diffs = {"scores": float(np.abs(got["scores"] - want["scores"]).max()),
             "tag_probs": float(np.abs(got["tag_probs"] - want["tag_probs"])[mask].max())}
    agree = float((got["tag_probs"].argmax(-1) == want["tag_probs"].argmax(-1))[mask].mean())
    return GuardParity(diffs, agree, n)
