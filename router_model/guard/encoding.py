"""Tokenize normalised text for the guard: ids, character offsets and case shapes.

The guard reads the router's tokenizer (the MiniLM WordPiece of
``router_model.tokenization``) without truncation: the whole text is tokenized once,
then cut into windows (``router_model.guard.windows``). Text is split at whitespace and
each chunk maps through a bounded cache ``chunk -> pieces`` (ids, offsets inside the
chunk, shapes). BERT's normaliser and pre-tokenizer work per character and split at
whitespace first, so the pieces of the chunks are the pieces of the text (the router's
``fast_tokenizer`` rests on the same fact): ASCII chunks use its pre-token rule and the
tokenizer's own WordPiece model, other chunks the full HF tokenizer.

Word-level normalisation happens here, per chunk (``normalize.join_spaced``,
``normalize.read_leet``) and for runs of one-letter chunks (``i g n o r e``).

Shapes carry what the uncased tokenizer drops: bit 0 title-case, bit 1 all caps,
bit 2 has a digit, bit 3 continuation piece (``##``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from tokenizers import Tokenizer

from router_model.fast_tokenizer import _WORDS, FastEncoder
from router_model.guard.normalize import (
    MIN_SPACED,
    join_spaced,
    read_leet,
    vocab_words,
)

CACHE_CHUNKS = 1 << 16
N_SHAPES = 16
Pieces = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
"""(ids, shapes, starts, ends) of one chunk; offsets relative to the chunk."""


@dataclass(frozen=True)
class Encoding:
    """One tokenized text (no special tokens).

    Attributes:
        ids: (N,) int64 WordPiece ids.
        shapes: (N,) int64 shape ids in [0, N_SHAPES).
        parts: per token group (a chunk, or a joined run of one-letter chunks), its
            pieces and its start in the normalised text; offsets are read from them
            only for the tokens that need them (``offsets``).
        group: (N,) int64, the index in ``parts`` of each token's group.
    """

    ids: np.ndarray
    shapes: np.ndarray
    parts: list[tuple[Pieces, int]]
    group: np.ndarray
    first: np.ndarray  # (len(parts),) int64 index of each group's first token

    def __len__(self) -> int:
        return len(self.ids)

    def offsets(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Character ``[start, end)`` in the normalised text of tokens ``index`` (K,)."""
        starts = np.empty(len(index), dtype=np.int64)
        ends = np.empty(len(index), dtype=np.int64)
        for k, j in enumerate(index.tolist()):
            g = int(self.group[j])
            (_, _, rel_s, rel_e), base = self.parts[g]
            r = j - int(self.first[g])
            starts[k], ends[k] = base + rel_s[r], base + rel_e[r]
        return starts, ends


def shape_of(piece: str, continuation: bool) -> int:
    """Shape id of one piece as written (see module docstring)."""
    letters = [c for c in piece if c.isalpha()]
    title = bool(letters) and letters[0].isupper() and not (len(letters) > 1
                                                             and all(c.isupper() for c in letters))
    caps = len(letters) > 1 and all(c.isupper() for c in letters)
    digit = any(c.isdigit() for c in piece)
    return int(title) | int(caps) << 1 | int(digit) << 2 | int(continuation) << 3


class GuardEncoder:
    """Callable ``text -> Encoding`` over one HF tokenizer (thread-safe, cached)."""

    def __init__(self, tok: Tokenizer) -> None:
        fast = FastEncoder(tok)
        self.tokenizer = tok
        self.cls_id, self.sep_id = fast.cls_id, fast.sep_id
        self.fast_ok = fast.enabled
        self._model = tok.model
        self._plain = Tokenizer.from_str(tok.to_str())
        self._plain.no_truncation()
        self._plain.no_padding()
        self.vocab = vocab_words(tok.get_vocab())
        self.pieces = lru_cache(maxsize=CACHE_CHUNKS)(self._chunk_pieces)

    def _chunk_pieces(self, chunk: str) -> Pieces:
        """Pieces of one whitespace-free chunk, after word-level normalisation."""
        word = join_spaced(chunk) or read_leet(chunk, self.vocab) or chunk
        if len(word) != len(chunk):  # joined: every piece spans the whole chunk
            ids, shapes, _, _ = self.pieces(word)
            return ids, shapes, (0,) * len(ids), (len(chunk),) * len(ids)
        if self.fast_ok and word.isascii() and word.isprintable():
            return self._ascii_pieces(word)
        enc = self._plain.encode(word, add_special_tokens=False)
        shapes = tuple(shape_of(word[s:e], t.startswith("##"))
                       for t, (s, e) in zip(enc.tokens, enc.offsets, strict=True))
        return (tuple(enc.ids), shapes, tuple(s for s, _ in enc.offsets),
                tuple(e for _, e in enc.offsets))

    def _ascii_pieces(self, chunk: str) -> Pieces:
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        shapes: list[int] = []
        for m in _WORDS.finditer(chunk.lower()):
            base = m.start()
            for t in self._model.tokenize(m.group()):
                s, e = t.offsets
                ids.append(t.id)
                starts.append(base + s)
                ends.append(base + e)
                shapes.append(shape_of(chunk[base + s:base + e], t.value.startswith("##")))
        return tuple(ids), tuple(shapes), tuple(starts), tuple(ends)

    def __call__(self, text: str) -> Encoding:
        chunks, bases = _chunks(text)
        parts: list[tuple[Pieces, int]] = []
        run: list[int] = []  # indices of a run of one-letter chunks
        pieces = self.pieces
        for i, c in enumerate(chunks):
            if len(c) == 1 and c.isalpha():
                run.append(i)
                continue
            if run:
                self._flush(run, chunks, bases, parts)
            parts.append((pieces(c), bases[i]))
        self._flush(run, chunks, bases, parts)
        return _stack(parts)

    def _flush(self, run: list[int], chunks: list[str], bases: list[int],
               parts: list[tuple[Pieces, int]]) -> None:
        if len(run) >= MIN_SPACED:
            ids, shapes, _, _ = self.pieces("".join(chunks[i] for i in run))
            s, e = bases[run[0]], bases[run[-1]] + 1
            parts.append(((ids, shapes, (0,) * len(ids), (e - s,) * len(ids)), s))
        else:
            parts.extend((self.pieces(chunks[i]), bases[i]) for i in run)
        run.clear()


def _chunks(text: str) -> tuple[list[str], list[int]]:
    """Whitespace-free chunks of ``text`` and their start offsets."""
    chunks = text.split()
    bases, pos = [], 0
    find = text.find
    for c in chunks:
        pos = find(c, pos)
        bases.append(pos)
        pos += len(c)
    return chunks, bases


def _stack(parts: list[tuple[Pieces, int]]) -> Encoding:
    ids: list[int] = []
    shapes: list[int] = []
    lens: list[int] = []
    for p, _ in parts:
        ids += p[0]
        shapes += p[1]
        lens.append(len(p[0]))
    n = np.array(lens, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64) if lens else n
    return Encoding(np.array(ids, dtype=np.int64), np.array(shapes, dtype=np.int64), parts,
                    np.repeat(np.arange(len(parts), dtype=np.int64), n), first)
