"""Evaluation sets of the guard: one split of the corpus, plus two derived attack sets.

- ``embedded``: each held-out injection / jailbreak (up to 600 characters) inside a
  held-out benign traffic prompt of at least 1,000 characters (the benign wrapper that
  windowed scoring must see through);
- ``obfuscated``: each held-out attack (injection or harmful, up to 600 characters)
  rewritten with one trick the normaliser undoes (``train.guard_augment``).
Both are built only from texts of the same split, deterministically from ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import replace

from train.guard_augment import embed_text, obfuscate
from train.guard_data import BENIGN_TRAFFIC, Example

MAX_ATTACK_CHARS = 600
MIN_WRAPPER_CHARS = 1000


def derived_sets(split: list[Example], seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    attacks = [e for e in split if len(e.text) <= MAX_ATTACK_CHARS
               and (e.labels[0] == 1 or e.labels[1] == 1)]
    wrappers = [e for e in split if e.source in BENIGN_TRAFFIC
                and len(e.text) >= MIN_WRAPPER_CHARS]
    out = []
    if wrappers:
        for a in attacks:
            if a.labels[0] == 1:
                w = rng.choice(wrappers)
                out.append(replace(a, text=embed_text(a.text, w.text, rng), source="embedded"))
    for a in attacks:
        name, text = obfuscate(a.text, rng)
        out.append(replace(a, text=text, source="obfuscated", group=f"{a.group}:{name}"))
    return out


def eval_set(corpus: list[Example], split: str, seed: int = 0) -> list[Example]:
    """The split's examples followed by the derived sets."""
    base = [e for e in corpus if e.split == split]
    return base + derived_sets(base, seed)
