"""The character n-gram scorer at run time, in numpy: window character spans -> (K, C).

The same function as the exported ``ngram.onnx`` graph (``ngram_model.NgramLogReg
.to_onnx``: ``v = tf * idf[ids]; u = v / max(||v||, eps); p = sigmoid(u @ W[ids] + b)``),
with its weights read from that graph's initializers at load, but without the padded
(K, M) feeds: the text's n-grams are hashed once (``char_ngrams.gram_hashes``), the
(window, bucket) keys of the n-grams inside each window are sorted once and run-length
counted, and each window's sums are one segment sum over its run. 0.52x / 0.46x the
feeds + graph at 2 KB / 16 KB (docs/guard.md); a test holds the two within 1e-6
(``tests/router_model/guard/test_ngram_scorer.py``).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from router_model.guard.char_ngrams import check_buckets, gram_hashes

EPS = np.float32(1e-12)  # the graph's initializer ``eps``


class NgramScorer:
    """Callable ``(text, char_starts (K,), char_ends (K,)) -> (K, C)`` probabilities.

    Args:
        idf: (buckets,) float32; coef: (buckets, C) float32; intercept: (C,) float32.
        n_range: the n-gram lengths (inclusive).
    """

    def __init__(self, idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 n_range: tuple[int, int]) -> None:
        idf64 = np.asarray(idf, dtype=np.float32).astype(np.float64)
        coef64 = np.asarray(coef, dtype=np.float32).astype(np.float64)
        # per bucket [idf, idf * W[:, 0], idf * W[:, 1], ...]: one gather per n-gram
        self.table = np.ascontiguousarray(np.column_stack([idf64, idf64[:, None] * coef64]))
        self.intercept = np.asarray(intercept, dtype=np.float32).astype(np.float64)
        self.n_range = (int(n_range[0]), int(n_range[1]))
        self.buckets = len(idf64)
        self.bits = check_buckets(self.buckets)

    @classmethod
    def from_onnx(cls, graph: bytes, n_range: tuple[int, int]) -> NgramScorer:
        """The scorer whose weights are the initializers ``idf``, ``W``, ``b`` of
        ``ngram.onnx``."""
        init = {t.name: numpy_helper.to_array(t)
                for t in onnx.load_from_string(graph).graph.initializer}
        return cls(init["idf"], init["W"], init["b"], n_range)

    def counts(self, text: str, char_starts: np.ndarray, char_ends: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The (window, bucket) pairs present and their counts, sorted by window then
        bucket, over the n-grams lying wholly inside each window
        ``[char_starts[k], char_ends[k])``: rows (P,), buckets (P,), counts (P,) int."""
        # keys window << bits | bucket, in 32 bits when they fit (a faster sort)
        wide = len(char_starts) << self.bits >= 1 << 31
        dtype = np.int64 if wide else np.int32
        grams = gram_hashes(text, self.n_range, self.buckets, dtype)
        if not grams:
            return (np.zeros(0, np.intp),) * 3
        keys = np.sort(_window_keys(grams, char_starts, char_ends, self.bits, dtype))
        new = np.empty(len(keys), dtype=bool)
        new[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        first = np.flatnonzero(new)
        counts = np.diff(first, append=len(keys))
        head = keys[first].astype(np.intp)
        return head >> self.bits, head & (self.buckets - 1), counts

    def _whole_text(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``counts`` for one window holding the whole text (a short request: the
        common case): every n-gram counts, so no window keys, one ``np.unique``."""
        grams = gram_hashes(text, self.n_range, self.buckets, np.int32)
        if not grams:
            return (np.zeros(0, np.intp),) * 3
        ids, counts = np.unique(np.concatenate(list(grams.values())), return_counts=True)
        return np.zeros(len(ids), np.intp), ids.astype(np.intp), counts

    def __call__(self, text: str, char_starts: np.ndarray, char_ends: np.ndarray
                 ) -> np.ndarray:
        k = len(char_starts)
        if k == 1 and char_starts[0] <= 0 and char_ends[0] >= len(text):
            rows, ids, counts = self._whole_text(text)  # one window over it all: no keys
        else:
            rows, ids, counts = self.counts(text, char_starts, char_ends)
        tf = (1.0 + np.log(counts)).astype(np.float32).astype(np.float64)
        terms = self.table.take(ids, axis=0)  # (P, 1 + C): idf, idf * W
        terms *= tf[:, None]  # v = tf * idf, then v * W
        terms[:, 0] *= terms[:, 0]  # v^2
        sums = _segment_sums(terms, np.searchsorted(rows, np.arange(k + 1)))
        z = sums[:, 1:] / np.maximum(np.sqrt(sums[:, :1]), EPS) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


SLICED_WINDOWS = 8  # up to this many windows, one slice per window and n is faster


def _window_keys(grams: dict[int, np.ndarray], starts: np.ndarray, ends: np.ndarray,
                 bits: int, dtype: type) -> np.ndarray:
    """``window << bits | bucket`` of every n-gram lying wholly inside each window: a
    slice per (window, n) for a few windows, else all at once (``_gathered_keys``)."""
    if len(starts) > SLICED_WINDOWS:
        return _gathered_keys(grams, starts, ends, bits, dtype)
    return np.concatenate([
        g[a:max(b - n + 1, a)] | dtype(w << bits)
        for w, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))
        for n, g in grams.items()])


def _gathered_keys(grams: dict[int, np.ndarray], starts: np.ndarray, ends: np.ndarray,
                   bits: int, dtype: type) -> np.ndarray:
    """``_window_keys`` for all windows and n at once (no Python step per window)."""
    ns = np.array(list(grams), dtype=np.int64)
    flat = np.concatenate(list(grams.values()))
    offset = np.cumsum([0, *(len(g) for g in grams.values())])[:-1]  # of each n in flat
    lo = starts[:, None] + offset[None, :]  # (K, N) first index in flat
    size = np.maximum(ends[:, None] - ns[None, :] + 1 - starts[:, None], 0).ravel()
    first = np.cumsum(size) - size  # where each (window, n) run starts in the output
    idx = np.arange(int(size.sum())) + np.repeat(lo.ravel() - first, size)
    win: np.ndarray = np.repeat(np.repeat(np.arange(len(starts), dtype=dtype), len(ns)), size)
    return flat[idx] | (win << dtype(bits))


def _segment_sums(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of ``x[bounds[i]:bounds[i + 1]]`` along axis 0, (len(bounds) - 1, ...);
    0 for an empty segment."""
    k = len(bounds) - 1
    if not len(x):
        return np.zeros((k, *x.shape[1:]))
    sums = np.add.reduceat(x, np.minimum(bounds[:-1], len(x) - 1), axis=0)
    empty = bounds[1:] == bounds[:-1]
    sums[empty] = 0.0
    return sums
