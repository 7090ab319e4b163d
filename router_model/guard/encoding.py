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
from itertools import chain
from operator import itemgetter

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
_IDS, _SHAPES = itemgetter(0), itemgetter(1)


@dataclass
class Encoding:
    """One tokenized text (no special tokens).

    Attributes:
        ids: (N,) int64 WordPiece ids.
        shapes: (N,) int64 shape ids in [0, N_SHAPES).
        text: the (normalised) text that was tokenized.
        chunks: its whitespace-free chunks.
        parts: per token group (a chunk, or a joined run of one-letter chunks) its pieces.
        group_chunk: per group, the index of its first chunk.
        lengths: (G,) int64 tokens per group.
    Character offsets are only worked out for the tokens that need them (``offsets``).
    """

    ids: np.ndarray
    shapes: np.ndarray
    text: str
    chunks: list[str]
    parts: list[Pieces]
    group_chunk: list[int]
    lengths: np.ndarray
    _chars: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def offsets(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Character ``[start, end)`` in ``text`` of tokens ``index`` (K,) -> two (K,):
        its chunk's start in ``text`` (``chunk_starts``, once per text) plus its offset
        in the chunk; an end ``-1 - k`` (a joined run of one-letter chunks) is one past
        the one letter of chunk ``k``."""
        if self._chars is None:  # once per text (a benign race)
            first = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
            group = np.asarray(self.group_chunk, dtype=np.int64)
            self._chars = chunk_starts(self.text, self.chunks), first, group
        bases, first, group = self._chars
        groups = np.searchsorted(first, index, side="right") - 1
        pairs = list(zip(groups.tolist(), (index - first[groups]).tolist(), strict=True))
        parts = self.parts
        rel_s = np.array([parts[g][2][r] for g, r in pairs], dtype=np.int64)
        rel_e = np.array([parts[g][3][r] for g, r in pairs], dtype=np.int64)
        base = bases[group[groups]]
        joined = rel_e < 0
        ends = base + rel_e
        ends[joined] = bases[-1 - rel_e[joined]] + 1
        return base + rel_s, ends


def shape_of(piece: str, continuation: bool) -> int:
    """Shape id of one piece as written (see module docstring)."""
    if piece.isascii() and piece.isalpha():  # the common case, without a loop per letter
        caps = len(piece) > 1 and piece.isupper()
        title = piece[0].isupper() and not caps
        return int(title) | int(caps) << 1 | int(continuation) << 3
    return _shape_any(piece, continuation)


def _shape_any(piece: str, continuation: bool) -> int:
    """``shape_of`` of any piece, letter by letter."""
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
        chunks = text.split()
        parts = list(map(self.pieces, chunks))
        group_chunk = list(range(len(chunks)))
        singles = [i for i, c in enumerate(chunks) if len(c) == 1 and c.isalpha()]
        if len(singles) >= MIN_SPACED:
            parts, group_chunk = self._join_runs(chunks, parts, singles)
        n = sum(lengths := list(map(len, map(_IDS, parts))))
        ids = np.fromiter(chain.from_iterable(map(_IDS, parts)), np.int64, n)
        shapes = np.fromiter(chain.from_iterable(map(_SHAPES, parts)), np.int64, n)
        return Encoding(ids, shapes, text, chunks, parts, group_chunk,
                        np.array(lengths, dtype=np.int64))

    def _join_runs(self, chunks: list[str], parts: list[Pieces], singles: list[int]
                   ) -> tuple[list[Pieces], list[int]]:
        """Replace runs of >= MIN_SPACED consecutive one-letter chunks by the pieces of
        the joined word (``i g n o r e`` -> ``ignore``), spanning the whole run."""
        runs, cur = [], [singles[0]]
        for i in singles[1:]:
            if i == cur[-1] + 1:
                cur.append(i)
            else:
                runs.append(cur)
                cur = [i]
        runs.append(cur)
        runs = [r for r in runs if len(r) >= MIN_SPACED]
        if not runs:
            return parts, list(range(len(chunks)))
        out: list[Pieces] = []
        group_chunk: list[int] = []
        pos = 0
        for r in runs:
            out += parts[pos:r[0]]
            group_chunk += range(pos, r[0])
            ids, shapes, _, _ = self.pieces("".join(chunks[i] for i in r))
            # end -1 - k: "one past the last character of chunk k" (resolved in offsets)
            out.append((ids, shapes, (0,) * len(ids), (-1 - r[-1],) * len(ids)))
            group_chunk.append(r[0])
            pos = r[-1] + 1
        out += parts[pos:]
        group_chunk += range(pos, len(chunks))
        return out, group_chunk


def _space_table() -> np.ndarray:
    """``str.isspace`` of every code point up to ``_SPACE_MAX`` (the last white space
    character, U+3000), and one ``False`` past it for every code point above."""
    table = np.array([chr(c).isspace() for c in range(_SPACE_MAX + 2)], dtype=bool)
    table[-1] = False
    return table


_SPACE_MAX = 0x3000
_SPACE = _space_table()


FIND_CHUNKS = 96


def _found_starts(text: str, chunks: list[str]) -> np.ndarray:
    """``chunk_starts`` by finding each chunk after the previous one."""
    starts, pos = [], 0
    find = text.find
    for c in chunks:
        pos = find(c, pos)
        starts.append(pos)
        pos += len(c)
    return np.array(starts, dtype=np.int64)


def chunk_starts(text: str, chunks: list[str]) -> np.ndarray:
    """(len(chunks),) int64 start offset in ``text`` of each of its chunks ``chunks =
    text.split()`` (which splits at ``str.isspace`` characters); a short text's by
    ``str.find`` (cheaper up to ``FIND_CHUNKS`` chunks)."""
    if len(chunks) <= FIND_CHUNKS:
        return _found_starts(text, chunks)
    return _table_starts(text, len(chunks))


def _table_starts(text: str, count: int) -> np.ndarray:
    """``chunk_starts`` from a ``str.isspace`` table over the text's code points."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    space = _SPACE[np.minimum(codes, _SPACE_MAX + 1)]
    after_space = np.empty(len(codes), dtype=bool)
    after_space[:1] = True
    after_space[1:] = space[:-1]
    starts = np.flatnonzero(after_space & ~space)
    if len(starts) != count:
        raise RuntimeError(f"chunk_starts: {len(starts)} chunks, text.split() made {count}")
    return starts.astype(np.int64)
