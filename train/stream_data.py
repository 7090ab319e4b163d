"""Full-information logs as a stream of request blocks, in bounded memory.

Canonical rows (one per request x model, a request's rows contiguous, as every converter
and the synthetic generator write them) arrive as Arrow batches (``data.io.iter_tables``
through ``datasets``); ``iter_requests`` regroups them into ``RequestBlock``s of whole
requests, carrying a request cut by a batch boundary over to the next block.

The validation split is by a keyed hash of the request id (``in_validation``), so it needs
no memory and no second look: the same requests are held out by every process and on
every run, whatever the order of the files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from data.matrix import OUTCOMES, FullInfo

COLUMNS = ("request_id", "query", "task", "model", *OUTCOMES, "prompt_tokens",
           "completion_tokens")


@dataclass
class RequestBlock:
    """Whole requests: ids, queries, tasks (k,), outcomes (k, M) per ``OUTCOMES`` name
    (NaN where a model has no row), and the block's raw rows (for the profile sums)."""

    request_ids: np.ndarray
    queries: np.ndarray
    tasks: np.ndarray
    outcomes: dict[str, np.ndarray]
    rows: pa.Table

    def __len__(self) -> int:
        return len(self.request_ids)

    def view(self, models: list[str], idx: np.ndarray | None = None) -> FullInfo:
        """The block (or rows ``idx``) as a ``FullInfo`` over ``models``."""
        sel = slice(None) if idx is None else idx
        return FullInfo(self.request_ids[sel], self.queries[sel], self.tasks[sel],
                        list(models), *(self.outcomes[k][sel] for k in OUTCOMES))


def in_validation(request_ids: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """(k,) bool: the request is held out (a keyed 64-bit hash below ``fraction``)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"data.val_fraction: expected in (0, 1), got {fraction}")
    key = seed.to_bytes(8, "little", signed=True)
    cut = int(fraction * 2**64)
    return np.fromiter((int.from_bytes(hashlib.blake2b(str(r).encode(), digest_size=8,
                                                       key=key).digest(), "little") < cut
                        for r in request_ids), dtype=bool, count=len(request_ids))


def _block(t: pa.Table, models: list[str], where: int) -> RequestBlock:
    rid = t.column("request_id").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, rid[1:] != rid[:-1]])
    r = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rid)]))
    m = pd.Index(models).get_indexer(t.column("model").to_numpy(zero_copy_only=False))
    if len(set(rid[starts])) != len(starts):
        raise ValueError(f"rows near row {where}: a request's rows are not contiguous "
                         "(streamed training needs each request's rows together)")
    keep = m >= 0
    outcomes = {}
    for name in OUTCOMES:
        mat = np.full((len(starts), len(models)), np.nan)
        vals = t.column(name).to_numpy(zero_copy_only=False).astype(float)
        mat[r[keep], m[keep]] = vals[keep]
        outcomes[name] = mat
    task = t.column("task").to_numpy(zero_copy_only=False)[starts]
    tasks = np.array(["" if x is None else str(x) for x in task], dtype=object)
    queries = t.column("query").to_numpy(zero_copy_only=False)[starts]
    return RequestBlock(rid[starts], queries, tasks, outcomes, t)


def iter_requests(tables: Iterable[pa.Table], models: list[str]) -> Iterator[RequestBlock]:
    """Blocks of whole requests from batches of rows (see module)."""
    carry: pa.Table | None = None
    seen = 0
    for t in tables:
        t = pa.concat_tables([carry, t]) if carry is not None else t
        ids = t.column("request_id").to_numpy(zero_copy_only=False)
        start = len(ids) - 1  # where the last (maybe unfinished) request begins
        while start > 0 and ids[start - 1] == ids[-1]:
            start -= 1
        carry = t.slice(max(start, 0))
        if start > 0:
            block = _block(t.slice(0, start), models, seen)
            if ids[-1] in set(block.request_ids):
                raise ValueError(f"rows near row {seen + start}: request {ids[-1]!r} has rows "
                                 "apart (streamed training needs each request's rows together)")
            yield block
            seen += start
    if carry is not None and carry.num_rows:
        yield _block(carry, models, seen)


def rechunk(blocks: Iterable[RequestBlock], size: int) -> Iterator[list[RequestBlock]]:
    """Groups of blocks holding about ``size`` requests each (the training chunks)."""
    group: list[RequestBlock] = []
    n = 0
    for b in blocks:
        group.append(b)
        n += len(b)
        if n >= size:
            yield group
            group, n = [], 0
    if group:
        yield group


def concat(blocks: list[RequestBlock]) -> RequestBlock:
    """One block from several (same models)."""
    return RequestBlock(np.concatenate([b.request_ids for b in blocks]),
                        np.concatenate([b.queries for b in blocks]),
                        np.concatenate([b.tasks for b in blocks]),
                        {k: np.concatenate([b.outcomes[k] for b in blocks]) for k in OUTCOMES},
                        pa.concat_tables([b.rows for b in blocks]))
