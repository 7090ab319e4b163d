"""Hashed character n-grams of the normalised text, per token window.

The learned guard's second scorer is a linear model over character 2-5-grams (the
feature family of the TF-IDF baseline, which catches the attacks whose wording the
token net misses). Here the n-grams are hashed into ``buckets`` columns, so no
vocabulary is stored and the run time needs only numpy: every n-gram of the text is
hashed once (rolling polynomial hash over code points mod 2^32, vectorised per n,
then multiplicative hashing into a power-of-two number of buckets), and a window
keeps the n-grams that lie wholly inside its character span. Counts become sublinear
term frequencies ``1 + log(count)``; the idf weighting, l2 normalisation and the
logistic regression are in the exported graph (``router_model.guard.ngram_graph``).

The same function makes the training matrix (one window: the whole text) and the run
time feeds (one row per token window), so training and serving cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

N_RANGE = (2, 5)
BUCKETS = 1 << 18
_P = np.uint32(1_000_003)
_MIX = np.uint32(0x9E3779B1)  # Knuth's multiplicative constant (2^32 / golden ratio)


@dataclass(frozen=True)
class NgramFeeds:
    """A batch of hashed n-gram rows, padded: ``ids`` (K, M) int64 column indices and
    ``tf`` (K, M) float32 sublinear term frequencies (0 on padding)."""

    ids: np.ndarray
    tf: np.ndarray

    def feeds(self) -> dict[str, np.ndarray]:
        return {"ngram_ids": self.ids, "ngram_tf": self.tf}


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.lower().encode("utf-32-le"), dtype=np.uint32)


def check_buckets(buckets: int) -> int:
    """The hash keeps the top bits of a 32-bit product: a power of two up to 2^32."""
    if buckets < 2 or buckets & (buckets - 1) or buckets > 1 << 32:
        raise ValueError(f"n-gram buckets: expected a power of two in [2, 2^32], got {buckets}")
    return buckets.bit_length() - 1


def gram_hashes(text: str, n_range: tuple[int, int] = N_RANGE,
                buckets: int = BUCKETS, dtype: type = np.int64) -> dict[int, np.ndarray]:
    """n -> the bucket of every n-gram of ``text`` (lower-cased), indexed by its start
    character: ``out[n][i]`` is the bucket of ``text[i : i + n]``, (len(text) - n + 1,)
    ``dtype`` (int64 unless asked otherwise)."""
    shift = np.uint32(32 - check_buckets(buckets))
    c = _codes(text)
    h = c.copy()
    out: dict[int, np.ndarray] = {}
    with np.errstate(over="ignore"):
        for n in range(2, n_range[1] + 1):
            if len(c) < n:
                break
            h = h[:-1] * _P + c[n - 1:]  # hash of c[i : i + n] at index i (mod 2^32)
            if n >= n_range[0]:
                out[n] = (((h ^ np.uint32(n)) * _MIX) >> shift).astype(dtype)
    return out


def window_ngrams(text: str, char_starts: np.ndarray, char_ends: np.ndarray,
                  n_range: tuple[int, int] = N_RANGE, buckets: int = BUCKETS) -> NgramFeeds:
    """The n-grams of ``text`` lying wholly inside each window
    ``[char_starts[k], char_ends[k])`` (K,), as padded rows (``NgramFeeds``, at least
    one column)."""
    grams = gram_hashes(text, n_range, buckets)
    k = len(char_starts)
    parts = [grams[n][a:max(b - n + 1, a)] + w * buckets
             for w, (a, b) in enumerate(zip(char_starts.tolist(), char_ends.tolist(),
                                            strict=True))
             for n in grams]
    keys, counts = np.unique(np.concatenate(parts) if parts else np.zeros(0, np.int64),
                             return_counts=True)
    rows, ids = np.divmod(keys, buckets)
    per_row = np.bincount(rows, minlength=k)
    m = max(int(per_row.max()) if k else 0, 1)
    pos = np.arange(len(keys)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    out_ids = np.zeros((k, m), dtype=np.int64)
    out_tf = np.zeros((k, m), dtype=np.float32)
    out_ids[rows, pos] = ids
    out_tf[rows, pos] = 1.0 + np.log(counts)
    return NgramFeeds(out_ids, out_tf)


def text_matrix(texts: Sequence[str], n_range: tuple[int, int] = N_RANGE,
                buckets: int = BUCKETS) -> sp.csr_matrix:
    """(n, buckets) CSR float32 of sublinear tf, one row per whole text (training)."""
    indptr, indices, data = [0], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for t in texts:
        f = window_ngrams(t, np.zeros(1, dtype=np.int64),
                          np.full(1, len(t), dtype=np.int64), n_range, buckets)
        keep = f.tf[0] > 0
        indices.append(f.ids[0, keep])
        data.append(f.tf[0, keep])
        indptr.append(indptr[-1] + int(keep.sum()))
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)),
                         shape=(len(texts), buckets), dtype=np.float32)
