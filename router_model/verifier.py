"""A learned answer verifier: p(correct | prompt, answer, model), sub-millisecond, ONNX.

The Verifier role of the cascade (issue #15): the router answers with a cheap model, the
verifier scores that answer, and the request escalates when the score is low. Inputs are
what the gateway has after the first call: the prompt's router features (the artifact's
``features`` output), the answer text (token ids; the router's static featurizer, fitted
on answers, pools them) and the model that answered. A one-hidden-layer MLP on
[prompt features, answer features, one-hot model] -> logit, trained with binary
cross-entropy. ``export_verifier`` writes ``verifier.onnx`` (inputs ``answer_ids``,
``answer_mask`` int64 [B, T], ``prompt_features`` float32 [B, d], ``model_index`` int64
[B]; output ``p_correct`` float32 [B]). Shapes: B answers, T tokens, d features, M models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

VERIFIER_INPUTS = ("answer_ids", "answer_mask", "prompt_features", "model_index")


@dataclass
class VerifierConf:
    """Training settings."""

    hidden: int = 64
    epochs: int = 15
    lr: float = 2e-3
    weight_decay: float = 0.01
    dropout: float = 0.2
    batch_size: int = 256
    seed: int = 0


class VerifierHead(nn.Module):
    """[prompt features (B, d_p), answer features (B, d_a), model (B,)] -> logit (B,)."""

    def __init__(self, d_in: int, n_models: int, cfg: VerifierConf, mean: np.ndarray,
                 std: np.ndarray) -> None:
        super().__init__()
        self.n_models = n_models
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))
        self.net = nn.Sequential(nn.Linear(d_in + n_models, cfg.hidden), nn.GELU(),
                                 nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, 1))

    def forward(self, prompt: torch.Tensor, answer: torch.Tensor,
                model_index: torch.Tensor) -> torch.Tensor:
        x = (torch.cat([prompt, answer], dim=1) - self.get_buffer("mean")) / \
            self.get_buffer("std")
        onehot = F.one_hot(model_index, self.n_models).to(x.dtype)
        return self.net(torch.cat([x, onehot], dim=1)).squeeze(1)


class VerifierGraph(nn.Module):
    """The exported graph: answer featurizer + head + sigmoid."""

    def __init__(self, featurizer: nn.Module, head: VerifierHead) -> None:
        super().__init__()
        self.featurizer, self.head = featurizer, head

    def forward(self, answer_ids: torch.Tensor, answer_mask: torch.Tensor,
                prompt_features: torch.Tensor, model_index: torch.Tensor) -> torch.Tensor:
        a = self.featurizer(answer_ids, answer_mask)
        return torch.sigmoid(self.head(prompt_features, a, model_index))


class Verifier:
    """sklearn-style: ``fit(P, A, m, y)`` returns self; ``predict_proba`` -> (n,)."""

    def __init__(self, cfg: VerifierConf | None = None) -> None:
        self.cfg = cfg or VerifierConf()

    def fit(self, P: np.ndarray, A: np.ndarray, model: np.ndarray, y: np.ndarray,
            n_models: int) -> Self:
        """P (n, d_p) prompt features, A (n, d_a) answer features, model (n,), y (n,)."""
        cfg = self.cfg
        X = np.hstack([P, A])
        torch.manual_seed(cfg.seed)
        self.head_ = VerifierHead(X.shape[1], n_models, cfg, X.mean(0),
                                  np.maximum(X.std(0), 1e-4))
        opt = torch.optim.AdamW(self.head_.parameters(), lr=cfg.lr,
                                weight_decay=cfg.weight_decay)
        tp, ta = torch.from_numpy(P.astype(np.float32)), torch.from_numpy(A.astype(np.float32))
        tm, ty = torch.from_numpy(model.astype(np.int64)), torch.from_numpy(y.astype(np.float32))
        gen = torch.Generator().manual_seed(cfg.seed)
        self.head_.train()
        for _ in range(cfg.epochs):
            for idx in torch.randperm(len(ty), generator=gen).split(cfg.batch_size):
                loss = F.binary_cross_entropy_with_logits(
                    self.head_(tp[idx], ta[idx], tm[idx]), ty[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.head_.eval()
        return self

    @torch.inference_mode()
    def predict_proba(self, P: np.ndarray, A: np.ndarray, model: np.ndarray) -> np.ndarray:
        """(n,) p(correct)."""
        z = self.head_(torch.from_numpy(P.astype(np.float32)),
                       torch.from_numpy(A.astype(np.float32)),
                       torch.from_numpy(model.astype(np.int64)))
        return torch.sigmoid(z).double().numpy()


def export_verifier(featurizer: nn.Module, verifier: Verifier, d_prompt: int,
                    path: Path) -> VerifierGraph:
    """Write ``verifier.onnx`` (opset 20, dynamic batch and length); returns the graph."""
    import warnings

    import onnx

    graph = VerifierGraph(featurizer, verifier.head_).eval()
    ids = torch.randint(1000, 2000, (2, 7))
    args = (ids, torch.ones_like(ids), torch.zeros(2, d_prompt), torch.zeros(2, dtype=torch.long))
    axes = {n: {0: "B"} for n in (*VERIFIER_INPUTS, "p_correct")}
    axes["answer_ids"] = axes["answer_mask"] = {0: "B", 1: "T"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, str(path), input_names=list(VERIFIER_INPUTS),
                          output_names=["p_correct"], opset_version=20, dynamo=False,
                          dynamic_axes=axes)
    onnx.checker.check_model(str(path))
    return graph
