"""Labelled pairs for the cache's hit decision: QQP split by connected group, plus traps.

``load_qqp`` reads ``qqp_pairs.jsonl`` (``{"text_a", "text_b", "label"}`` per line;
a bad line is a ValueError naming the line). ``group_split`` puts every connected group
of questions (pairs linked through a shared question) wholly in one split, so no
question of a held-out pair was seen in training. ``with_traps`` adds the generated
trap pairs of ``train.cache_traps`` from each split's own questions (lexicon half 0 for
training, 1 for validation and test).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from train.cache_traps import make_traps

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Pair:
    """One labelled pair; ``category``: "qqp" or a trap category."""

    a: str
    b: str
    label: int
    category: str = "qqp"


def load_qqp(path: str | Path) -> list[Pair]:
    """Every line of a QQP pairs file as a Pair (ValueError: which line, what is wrong)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"data.qqp_path: {p} is not a file (see ../shared/data/README.md)")
    out = []
    with p.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                a, b, y = row["text_a"], row["text_b"], row["label"]
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{p}:{n}: expected {{text_a, text_b, label}} ({e})") from None
            if not (isinstance(a, str) and isinstance(b, str) and a.strip() and b.strip()):
                raise ValueError(f"{p}:{n}: text_a and text_b must be non-empty strings")
            if y not in (0, 1):
                raise ValueError(f"{p}:{n}: label must be 0 or 1, got {y!r}")
            out.append(Pair(a, b, int(y)))
    if not out:
        raise ValueError(f"{p}: no pairs")
    return out


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class UnionFind:
    """Connected components of questions linked by pairs (path-halving union-find)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _groups(pairs: Sequence[Pair]) -> list[int]:
    """Connected-group id of each pair (union-find over the questions)."""
    uf = UnionFind()
    for p in pairs:
        uf.union(p.a, p.b)
    roots: dict[str, int] = {}
    return [roots.setdefault(uf.find(p.a), len(roots)) for p in pairs]


def group_split(pairs: Sequence[Pair], val: float, test: float, seed: int
                ) -> dict[str, list[Pair]]:
    """Split by connected group into train / val / test (fractions of groups)."""
    if not (0 <= val < 1 and 0 < test < 1 and val + test < 1):
        raise ValueError(f"data.val_fraction, data.test_fraction: expected fractions with "
                         f"sum < 1, got {val}, {test}")
    gid = _groups(pairs)
    order = list(range(max(gid) + 1))
    random.Random(seed).shuffle(order)
    n = len(order)
    where = {g: ("test" if i < test * n else "val" if i < (test + val) * n else "train")
             for i, g in enumerate(order)}
    out: dict[str, list[Pair]] = {s: [] for s in SPLITS}
    for p, g in zip(pairs, gid, strict=True):
        out[where[g]].append(p)
    return out


def closure(pairs: Sequence[Pair], max_per_group: int, seed: int) -> list[Pair]:
    """The labelled pairs implied by the given ones, within one split: questions joined
    by duplicate edges are duplicates of each other; a non-duplicate edge between two
    duplicate groups makes every cross pair a non-duplicate. At most ``max_per_group``
    new pairs per group (or group pair), sampled; the given pairs are not repeated."""
    rng = random.Random(seed)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        find(p.a), find(p.b)
        if p.label == 1:
            parent[find(p.a)] = find(p.b)
    members: dict[str, list[str]] = {}
    for q in list(parent):
        members.setdefault(find(q), []).append(q)
    seen = {frozenset((p.a, p.b)) for p in pairs}
    out: list[Pair] = []

    def add(cands: list[tuple[str, str]], label: int) -> None:
        fresh = [c for c in cands if frozenset(c) not in seen and c[0] != c[1]]
        for a, b in rng.sample(fresh, min(len(fresh), max_per_group)):
            seen.add(frozenset((a, b)))
            out.append(Pair(a, b, label, "qqp"))

    for g in members.values():
        if len(g) > 2:
            add([(g[i], g[j]) for i in range(len(g)) for j in range(i + 1, len(g))], 1)
    negs = {tuple(sorted((find(p.a), find(p.b)))) for p in pairs if p.label == 0}
    for ra, rb in sorted(negs):
        if ra != rb and len(members[ra]) * len(members[rb]) > 1:
            add([(a, b) for a in members[ra] for b in members[rb]], 0)
    return out


def questions(pairs: Sequence[Pair]) -> list[str]:
    """The distinct questions of some pairs, in first-seen order."""
    return list(dict.fromkeys(q for p in pairs for q in (p.a, p.b)))


def traps_for(split: str, pairs: Sequence[Pair], per_category: int, seed: int) -> list[Pair]:
    """Trap pairs from this split's own questions (lexicon half 0 = train, 1 = others)."""
    half = 0 if split == "train" else 1
    return [Pair(t.a, t.b, t.label, t.category)
            for t in make_traps(questions(pairs), half, seed + SPLITS.index(split),
                                per_category)]


def with_traps(splits: dict[str, list[Pair]], per_category: dict[str, int], seed: int
               ) -> dict[str, list[Pair]]:
    """Each split's QQP pairs followed by its traps (``per_category[split]`` each)."""
    return {s: list(ps) + traps_for(s, ps, per_category.get(s, 0), seed)
            for s, ps in splits.items()}
