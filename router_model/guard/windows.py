"""Cut one tokenized text into overlapping windows, the guard graph's batch.

A long input is scored window by window and the verdict takes the maximum over
windows, so a benign wrapper around an attack cannot dilute it. Each window is
``[CLS] body[s:s + width - 2] [SEP]``; consecutive windows overlap by
``width - stride`` tokens. The tagger's prediction for a token comes from the window
where it sits farthest from an edge (``owner``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_model.guard.encoding import Encoding

PAD_ID = 0


@dataclass(frozen=True)
class Windows:
    """A batch of windows.

    Attributes:
        input_ids, attention_mask, shape_ids: (K, T) int64 graph inputs.
        starts: (K,) int64, body index of each window's first token.
        lengths: (K,) int64, body tokens in each window.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    shape_ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def feeds(self) -> dict[str, np.ndarray]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "shape_ids": self.shape_ids}


def window_starts(n: int, width: int, stride: int) -> np.ndarray:
    """Start indices covering ``n`` body tokens; the last window ends at ``n``."""
    body = width - 2
    if n <= body:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n - body, stride))
    starts.append(n - body)
    return np.array(sorted(set(starts)), dtype=np.int64)


def make_windows(enc: Encoding, width: int, stride: int, cls_id: int,
                 sep_id: int) -> Windows:
    """Windows of ``enc`` (see module docstring); at least one, even for empty text."""
    if not width > 2 or not 0 < stride <= width - 2:
        raise ValueError(f"windows: expected width > 2 and 0 < stride <= width - 2, "
                         f"got width={width}, stride={stride}")
    n, body = len(enc), width - 2
    starts = window_starts(n, width, stride)
    k = len(starts)
    t = min(n, body) + 2
    ids = np.full((k, t), PAD_ID, dtype=np.int64)
    shapes = np.zeros((k, t), dtype=np.int64)
    mask = np.zeros((k, t), dtype=np.int64)
    lengths = np.minimum(n - starts, body)
    for i, (s, m) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        ids[i, 0], ids[i, 1:m + 1], ids[i, m + 1] = cls_id, enc.ids[s:s + m], sep_id
        shapes[i, 1:m + 1] = enc.shapes[s:s + m]
        mask[i, :m + 2] = 1
    return Windows(ids, mask, shapes, starts, lengths)


def owner(win: Windows, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ``n`` body tokens, the window whose prediction is used and the
    token's column in it: the window whose centre is nearest (all windows but a short
    single one have the same length, so that is the one where the token is farthest
    from an edge). Returns (window index (n,), column (n,)), int64; O(n log K)."""
    centers = win.starts + (win.lengths - 1) / 2.0
    cuts = (centers[1:] + centers[:-1]) / 2.0
    best = np.searchsorted(cuts, np.arange(n), side="right").astype(np.int64)
    return best, (np.arange(n) - win.starts[best] + 1).astype(np.int64)
