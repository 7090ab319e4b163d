"""Fit the hit verifier: BCE on labelled pairs, sparse updates of the token table.

Pairs are tokenized once (the router's WordPiece, ``max_tokens`` window), batched by
similar length (less padding), and each pair is shown in a random order of its two
texts. The token table gets sparse Adam updates (only the rows a batch uses), the rest
AdamW with a one-cycle schedule. After each epoch the validation score (recall at the
target false-hit rate on validation QQP pairs, minus the trap false-hit rate above its
budget) picks the best epoch's weights.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tokenizers import Tokenizer
from tqdm import tqdm

from train.cache_cross_model import CrossVerifier
from train.cache_data import Pair
from train.cache_model import PairVerifier

log = logging.getLogger(__name__)
PairModel = PairVerifier | CrossVerifier  # ids_a, mask_a, ids_b, mask_b -> logit, probability


@dataclass
class FitConf:
    """Optimisation settings (``conf/cache_train/trainer``)."""

    epochs: int = 6
    batch_size: int = 256
    lr: float = 2e-3
    table_lr: float = 1e-3
    weight_decay: float = 1e-4
    threads: int = 2
    seed: int = 0
    clip_grad_norm: float = 0.0  # > 0: clip the gradient's global norm (fine-tuning MiniLM)


@dataclass
class Encoded:
    """Token ids of n pairs: lists of int ids, labels (n,) and categories (n,)."""

    a: list[list[int]]
    b: list[list[int]]
    labels: np.ndarray
    categories: list[str]

    def __len__(self) -> int:
        return len(self.a)


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0


def encode_pairs(tok: Tokenizer, pairs: Sequence[Pair], max_tokens: int) -> Encoded:
    """Tokenize both texts of each pair (keep-tail, at most ``max_tokens`` ids)."""
    def ids(texts: list[str]) -> list[list[int]]:
        out = []
        for s in range(0, len(texts), 4096):
            out += [e.ids[-max_tokens:] if len(e.ids) > max_tokens else e.ids
                    for e in tok.encode_batch(texts[s:s + 4096])]
        return out

    return Encoded(ids([p.a for p in pairs]), ids([p.b for p in pairs]),
                   np.array([p.label for p in pairs], dtype=np.float32),
                   [p.category for p in pairs])


def pack(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, T) int64 ids and mask."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def batches(data: Encoded, size: int, rng: random.Random | None) -> list[list[int]]:
    """Index batches of similar length (shuffled within length buckets when ``rng``)."""
    order = list(range(len(data)))
    if rng is not None:
        rng.shuffle(order)
    chunk = size * 50
    out = []
    for s in range(0, len(order), chunk):
        part = sorted(order[s:s + chunk], key=lambda i: len(data.a[i]) + len(data.b[i]))
        out += [part[j:j + size] for j in range(0, len(part), size)]
    if rng is not None:
        rng.shuffle(out)
    return out


@torch.inference_mode()
def predict_logits(model: PairModel, data: Encoded, batch_size: int = 512) -> np.ndarray:
    """(n,) uncalibrated logits."""
    model.eval()
    out = np.zeros(len(data), dtype=np.float32)
    for idx in batches(data, batch_size, None):
        ia, ma = pack([data.a[i] for i in idx])
        ib, mb = pack([data.b[i] for i in idx])
        out[idx] = model.logits(ia, ma, ib, mb).numpy()
    return out


def _optimizers(model: PairModel, conf: FitConf, steps: int
                ) -> tuple[list[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]:
    table = model.emb.weight if isinstance(model, PairVerifier) else None
    dense = [p for p in model.parameters() if p.requires_grad and p is not table]
    opt = torch.optim.AdamW(dense, lr=conf.lr, weight_decay=conf.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=conf.lr, total_steps=max(steps, 1),
                                                pct_start=0.1)
    opts: list[torch.optim.Optimizer] = [opt]
    if table is not None and table.requires_grad:
        opts.append(torch.optim.SparseAdam([table], lr=conf.table_lr))
    return opts, sched


def _step(model: PairModel, data: Encoded, idx: list[int], rng: random.Random,
          opts: list[torch.optim.Optimizer], clip: float = 0.0) -> float:
    flip = [rng.random() < 0.5 for _ in idx]
    a = [data.b[i] if f else data.a[i] for i, f in zip(idx, flip, strict=True)]
    b = [data.a[i] if f else data.b[i] for i, f in zip(idx, flip, strict=True)]
    (ia, ma), (ib, mb) = pack(a), pack(b)
    y = torch.from_numpy(data.labels[idx])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model.logits(ia, ma, ib, mb), y)
    for o in opts:
        o.zero_grad()
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None
                                        and not p.grad.is_sparse], clip)
    for o in opts:
        o.step()
    return float(loss.item())


def fit(model: PairModel, train: Encoded, val: Encoded, conf: FitConf,
        score: Callable[[np.ndarray, Encoded], dict[str, float]],
        on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> FitResult:
    """Train in place; keeps the weights of the epoch with the best ``score(...)["score"]``.

    Args:
        score: (val logits (n,), val data) -> metrics with a "score" key (higher is better).
    """
    torch.manual_seed(conf.seed)
    torch.set_num_threads(conf.threads)
    rng = random.Random(conf.seed)
    steps = conf.epochs * math.ceil(len(train) / conf.batch_size)
    opts, sched = _optimizers(model, conf, steps)
    res, best, t0 = FitResult(), -math.inf, time.time()
    best_state = None
    for epoch in range(conf.epochs):
        model.train()
        plan = batches(train, conf.batch_size, rng)
        losses = []
        for idx in tqdm(plan, desc=f"epoch {epoch + 1}/{conf.epochs}", unit="batch",
                        leave=False):
            losses.append(_step(model, train, idx, rng, opts, conf.clip_grad_norm))
            sched.step()
        metrics = {"loss": float(np.mean(losses)), **score(predict_logits(model, val), val)}
        res.history.append(metrics)
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in metrics.items()})
        if on_epoch:
            on_epoch(epoch, metrics)
        if metrics["score"] > best:
            best, res.best_epoch = metrics["score"], epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    res.seconds = time.time() - t0
    return res
