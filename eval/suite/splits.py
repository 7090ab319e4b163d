"""Seeded, stratified, leak-free splits for the suite.

Split ``k`` of ``K``: the test part is fold ``k`` of a seeded K-fold partition stratified
by task, so the K test parts are disjoint and together cover every request once; the
validation part is a stratified ``val_fraction`` of the rest (seeded by ``seed + k``);
the remainder trains. Requests whose normalised text (lowercased, whitespace collapsed)
is identical form one group and always land in the same part: no prompt is in two parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Split:
    """Row indices (sorted int64) of one split's parts."""

    k: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def fit(self) -> np.ndarray:
        """train + val (what a method is refitted on after tuning on val)."""
        return np.sort(np.concatenate([self.train, self.val]))


def text_groups(queries: np.ndarray) -> np.ndarray:
    """(n,) int group id per request: equal normalised text -> equal id."""
    keys = [_WS.sub(" ", str(q)).strip().lower() for q in queries]
    _, inv = np.unique(np.array(keys, dtype=object), return_inverse=True)
    return inv.astype(np.int64)


def _fold_of_groups(tasks: np.ndarray, groups: np.ndarray, n_folds: int,
                    seed: int) -> np.ndarray:
    """(n,) fold per request: groups are dealt round-robin in a seeded order per task."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(tasks), dtype=np.int64)
    g_task: dict[int, str] = {}
    for i, g in enumerate(groups):  # a group's task = the task of its first request
        g_task.setdefault(int(g), str(tasks[i]))
    by_task: dict[str, list[int]] = {}
    for g, t in g_task.items():
        by_task.setdefault(t, []).append(g)
    g_fold = {}
    for t in sorted(by_task):
        gs = rng.permutation(np.array(by_task[t]))
        start = int(rng.integers(n_folds))  # small tasks do not all fill fold 0 first
        for j, g in enumerate(gs):
            g_fold[int(g)] = (start + j) % n_folds
    for i, g in enumerate(groups):
        fold[i] = g_fold[int(g)]
    return fold


def _val_of(rest: np.ndarray, tasks: np.ndarray, groups: np.ndarray, frac: float,
            seed: int) -> np.ndarray:
    """A stratified ``frac`` of the groups in ``rest`` (row indices), seeded."""
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for t in np.unique(tasks[rest].astype(str)):
        rows = rest[tasks[rest].astype(str) == t]
        gs = rng.permutation(np.unique(groups[rows]))
        take = set(gs[: round(len(gs) * frac)].tolist())
        val.extend(r for r in rows if int(groups[r]) in take)
    return np.sort(np.array(val, dtype=np.int64))


def make_splits(tasks: np.ndarray, queries: np.ndarray, n_splits: int = 5, seed: int = 0,
                val_fraction: float = 0.15) -> list[Split]:
    """``n_splits`` (>= 2) splits as described in the module docstring."""
    if n_splits < 2:
        raise ValueError(f"n_splits: expected >= 2, got {n_splits}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected in (0, 1), got {val_fraction}")
    tasks = np.asarray(tasks).astype(str)
    groups = text_groups(queries)
    fold = _fold_of_groups(tasks, groups, n_splits, seed)
    out = []
    for k in range(n_splits):
        test = np.flatnonzero(fold == k)
        rest = np.flatnonzero(fold != k)
        val = _val_of(rest, tasks, groups, val_fraction, seed + 1000 + k)
        train = np.setdiff1d(rest, val)
        out.append(Split(k, train, val, test))
    return out


def check_leak_free(split: Split, queries: np.ndarray) -> None:
    """Raise if any normalised prompt text appears in two parts of ``split``."""
    groups = text_groups(queries)
    parts = [set(groups[p].tolist()) for p in (split.train, split.val, split.test)]
    for a in range(3):
        for b in range(a + 1, 3):
            both = parts[a] & parts[b]
            if both:
                raise AssertionError(f"split {split.k}: {len(both)} prompt(s) in two parts")
