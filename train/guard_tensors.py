"""Corpus texts -> token arrays, tag labels and training windows for ``GuardNet``.

Texts are normalised and tokenized exactly as at run time (``Normalizer`` then
``GuardEncoder``). A training window is one window of the run-time layout
(``[CLS] body [SEP]``, at most ``width`` tokens) cut at a random place; an embedded
window puts a whole attack (if it fits) at a random place inside a benign window.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from router_model.guard.encoding import GuardEncoder
from router_model.guard.normalize import Normalizer
from router_model.guard.windows import PAD_ID
from train.guard_data import Example

IGNORE = -100


@dataclass
class Item:
    """One tokenized example.

    Attributes:
        ids, shapes: (N,) int64 body tokens (no specials).
        tags: (N,) int64 tag index per token, IGNORE where the text has no PII labels.
        labels: (C,) float32 per category, -1 = unknown.
    """

    ids: np.ndarray
    shapes: np.ndarray
    tags: np.ndarray
    labels: np.ndarray
    source: str


def token_tags(ex: Example, encoder: GuardEncoder, normalizer: Normalizer,
               tag_index: dict[str, int], negatives: Collection[str] = ()
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids, shapes and BIO tags of one example (the first token of a span ``B-T``, the
    rest ``I-T``); all ``O`` for texts of a ``negatives`` source (benign traffic taken as
    PII-free: the tagger's negatives); IGNORE for texts of other sources without PII
    labels."""
    norm = normalizer(ex.text)
    enc = encoder(norm.text)
    n = len(enc)
    if ex.source in negatives:
        return enc.ids, enc.shapes, np.zeros(n, dtype=np.int64)
    if ex.source != "presidio":
        return enc.ids, enc.shapes, np.full(n, IGNORE, dtype=np.int64)
    tags = np.zeros(n, dtype=np.int64)
    if n:
        s, e = enc.offsets(np.arange(n))
        orig = np.array([norm.to_original(a, b) for a, b in zip(s.tolist(), e.tolist(),
                                                                 strict=True)])
        for span in sorted(ex.spans, key=lambda sp: sp.end - sp.start, reverse=True):
            hit = np.flatnonzero((orig[:, 0] < span.end) & (orig[:, 1] > span.start))
            if len(hit) and f"B-{span.entity_type}" in tag_index:  # nested: the inner wins
                tags[hit] = tag_index[f"I-{span.entity_type}"]
                tags[hit[0]] = tag_index[f"B-{span.entity_type}"]
    return enc.ids, enc.shapes, tags


def tokenize(examples: list[Example], encoder: GuardEncoder,
             tag_index: dict[str, int], negatives: Collection[str] = ()) -> list[Item]:
    normalizer = Normalizer()
    out = []
    for ex in tqdm(examples, desc="tokenize", unit="text", mininterval=2.0):
        ids, shapes, tags = token_tags(ex, encoder, normalizer, tag_index, negatives)
        out.append(Item(ids, shapes, tags, np.array(ex.labels, dtype=np.float32), ex.source))
    return out


def crop(item: Item, body: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A random window's body: (ids, shapes, tags), each at most ``body`` long."""
    n = len(item.ids)
    s = int(rng.integers(0, n - body + 1)) if n > body else 0
    return item.ids[s:s + body], item.shapes[s:s + body], item.tags[s:s + body]


def embedded(attack: Item, benign: Item, body: int,
             rng: np.random.Generator) -> tuple[np.ndarray, ...] | None:
    """The whole attack inside a random benign crop (None if the attack does not fit
    with at least 8 benign tokens around it). Tags: IGNORE."""
    n = len(attack.ids)
    room = body - n
    if room < 8 or len(benign.ids) < 8:
        return None
    ids, shapes, _ = crop(benign, room, rng)
    at = int(rng.integers(0, len(ids) + 1))
    new_ids = np.concatenate([ids[:at], attack.ids, ids[at:]])
    new_shapes = np.concatenate([shapes[:at], attack.shapes, shapes[at:]])
    return new_ids, new_shapes, np.full(len(new_ids), IGNORE, dtype=np.int64)


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) int64
    attention_mask: torch.Tensor  # (B, T) int64
    shape_ids: torch.Tensor  # (B, T) int64
    tags: torch.Tensor  # (B, T) int64, IGNORE at specials / padding / unlabelled
    labels: torch.Tensor  # (B, C) float32, -1 unknown


def collate(windows: list[tuple[np.ndarray, ...]], labels: list[np.ndarray],
            cls_id: int, sep_id: int) -> Batch:
    """Stack window bodies into a padded batch with [CLS] / [SEP] around each."""
    t = max(len(w[0]) for w in windows) + 2
    b = len(windows)
    ids = np.full((b, t), PAD_ID, dtype=np.int64)
    mask = np.zeros((b, t), dtype=np.int64)
    shapes = np.zeros((b, t), dtype=np.int64)
    tags = np.full((b, t), IGNORE, dtype=np.int64)
    for i, (wi, ws, wt) in enumerate(windows):
        m = len(wi)
        ids[i, 0], ids[i, 1:m + 1], ids[i, m + 1] = cls_id, wi, sep_id
        shapes[i, 1:m + 1], tags[i, 1:m + 1] = ws, wt
        mask[i, :m + 2] = 1
    return Batch(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(shapes),
                 torch.from_numpy(tags), torch.from_numpy(np.stack(labels)))
