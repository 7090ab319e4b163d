"""Fit ``GuardNet`` (sklearn style: ``fit`` returns self, fitted state ends in ``_``).

Each epoch draws ``samples_per_epoch`` windows: a source group is drawn by
``source_weights`` (so a few hundred attacks are not drowned by 18k benign prompts), then
an item of that group, then a random window of it; group ``embedded`` puts a training
attack inside a benign training window. Loss: masked binary cross-entropy per category
(unknown labels left out) + ``tag_weight`` x token cross-entropy on PII-labelled tokens.
The epoch with the lowest validation loss (one fixed window per validation item) is kept.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from router_model.guard.nets import GuardNet
from train.guard_tensors import IGNORE, Batch, Item, collate, crop, embedded

log = logging.getLogger(__name__)
GROUPS = {"routerbench": "traffic", "routellm": "traffic", "dcrouter": "traffic",
          "jbb_gcg": "jbb", "jbb_jbc": "jbb", "jbb_random_search": "jbb", "jbb_goals": "jbb"}


def group_of(source: str) -> str:
    return GROUPS.get(source, source)


@dataclass
class GuardTrainer:
    """Hyper-parameters; ``fit(net, train, val)`` trains ``net`` in place."""

    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    samples_per_epoch: int = 8000
    tag_weight: float = 1.0
    width: int = 128
    cls_id: int = 101
    sep_id: int = 102
    seed: int = 0
    source_weights: Mapping[str, float] = field(default_factory=dict)
    history_: list[dict[str, float]] = field(default_factory=list)
    best_epoch_: int = -1
    net_: GuardNet | None = None

    def _plan(self, items: list[Item]) -> tuple[dict[str, list[int]], list[str], np.ndarray]:
        by: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            by.setdefault(group_of(it.source), []).append(i)
        names = [g for g in self.source_weights if g in by or g == "embedded"]
        missing = sorted(set(by) - set(names))
        if missing:
            raise ValueError(f"trainer.source_weights: no weight for source groups {missing}")
        w = np.array([self.source_weights[g] for g in names], dtype=np.float64)
        return by, names, w / w.sum()

    def _draw(self, items: list[Item], by: dict[str, list[int]], names: list[str],
              p: np.ndarray, rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        body = self.width - 2
        attacks = [i for i in by.get("jbb", []) + by.get("deepset", []) +
                   by.get("written_injection", []) if items[i].labels[0] == 1]
        while True:
            g = names[int(rng.choice(len(names), p=p))]
            if g == "embedded":
                a = items[attacks[int(rng.integers(len(attacks)))]]
                b = items[by["traffic"][int(rng.integers(len(by["traffic"])))]]
                win = embedded(a, b, body, rng)
                if win is not None:
                    return win, a.labels
                continue
            it = items[by[g][int(rng.integers(len(by[g])))]]
            return crop(it, body, rng), it.labels

    def _loss(self, net: GuardNet, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits, tags = net(batch.input_ids, batch.attention_mask, batch.shape_ids)
        known = batch.labels >= 0
        bce = nn.functional.binary_cross_entropy_with_logits(
            logits[known], batch.labels[known]) if known.any() else logits.sum() * 0
        has_tags = (batch.tags != IGNORE).any()
        ce = nn.functional.cross_entropy(tags.reshape(-1, tags.shape[-1]),
                                         batch.tags.reshape(-1), ignore_index=IGNORE) \
            if has_tags else tags.sum() * 0
        return bce, ce

    def _val_batches(self, val: list[Item]) -> list[Batch]:
        rng = np.random.default_rng(self.seed + 1)
        wins = [(crop(it, self.width - 2, rng), it.labels) for it in val]
        return [collate([w for w, _ in wins[i:i + 256]], [lab for _, lab in wins[i:i + 256]],
                        self.cls_id, self.sep_id) for i in range(0, len(wins), 256)]

    @torch.no_grad()
    def _val_loss(self, net: GuardNet, batches: list[Batch]) -> tuple[float, float]:
        net.eval()
        parts = [self._loss(net, b) for b in batches]
        return (float(np.mean([p[0].item() for p in parts])),
                float(np.mean([p[1].item() for p in parts])))

    def fit(self, net: GuardNet, train: list[Item], val: list[Item]) -> GuardTrainer:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        by, names, p = self._plan(train)
        params = [q for q in net.parameters() if q.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        steps = self.samples_per_epoch // self.batch_size
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, self.lr, total_steps=steps * self.epochs)
        val_batches = self._val_batches(val)
        best, best_loss = None, float("inf")
        for epoch in range(self.epochs):
            net.train()
            tot = []
            for _ in tqdm(range(steps), desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                          mininterval=5.0, leave=False):
                draws = [self._draw(train, by, names, p, rng) for _ in range(self.batch_size)]
                batch = collate([w for w, _ in draws], [lab for _, lab in draws],
                                self.cls_id, self.sep_id)
                bce, ce = self._loss(net, batch)
                loss = bce + self.tag_weight * ce
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot.append(loss.item())
            vb, vc = self._val_loss(net, val_batches)
            row = {"epoch": epoch + 1, "train_loss": float(np.mean(tot)), "val_bce": vb,
                   "val_tag_ce": vc, "val_loss": vb + self.tag_weight * vc}
            self.history_.append(row)
            log.info("epoch %d: train %.4f val bce %.4f tag %.4f", epoch + 1, row["train_loss"],
                     vb, vc)
            if row["val_loss"] < best_loss:
                best_loss, best, self.best_epoch_ = row["val_loss"], copy.deepcopy(
                    net.state_dict()), epoch + 1
        if best is not None:
            net.load_state_dict(best)
        self.net_ = net.eval()
        return self
