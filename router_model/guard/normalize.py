"""Normalise text before it is checked, keeping a map back to the original characters.

Two levels, so that each step runs where it is cheapest:

Text level (``Normalizer``; what the PII rules and the learned scorers both read):

1. Unicode: each non-ASCII character goes through NFKC (full-width letters and digits,
   ligatures, mathematical alphanumerics, compatibility spaces), then its accents are
   dropped (NFD minus combining marks, as the uncased MiniLM tokenizer does anyway).
   Format characters (zero-width space / joiners, bidi overrides and isolates, soft
   hyphen, BOM, tag characters) and stray combining marks ("Zalgo" text) are removed;
   line / paragraph separators become ``\\n``. NFKC also turns other scripts' digits
   (full-width, Arabic-Indic, ...) into ASCII digits, so the number rules see them.
2. Homoglyphs: Cyrillic / Greek / Armenian look-alikes are mapped to Latin letters inside
   a word that also has Latin letters, or whose letters are all look-alikes (so most
   real Russian or Greek words are left alone).

Word level (applied by ``router_model.guard.encoding`` to each whitespace-free chunk,
cached per chunk, for the learned scorers only):

3. Spaced-out letters: ``join_spaced`` joins ``i.g.n.o.r.e`` / ``i-g-n-o-r-e`` inside a
   chunk; runs of at least ``MIN_SPACED`` one-letter chunks (``i g n o r e``) are joined
   by the encoder with the same rule.
4. Numbers read as letters: ``read_leet`` turns ``1gn0re`` / ``p4ssw0rd`` into words when,
   and only when, the chunk is not a vocabulary word as written and is one after the
   substitution (``gpt4``, ``mp3``, ``2nd``, ``h2o`` stay). Digits are otherwise left as
   they are: the PII rules read digit groups with their separators.

Pure-ASCII text takes a fast path (no copy, identity map).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MIN_SPACED = 4
MIN_LEET_WORD = 4
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ԍ": "g", "А": "A", "В": "B", "Е": "E",
    "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y",
    "Χ": "X",
    # Armenian
    "օ": "o", "ո": "n", "ս": "u", "հ": "h", "ց": "g", "ք": "f",
}
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                      "8": "b", "9": "g", "@": "a", "$": "s", "!": "i"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_SPACED_CHUNK = re.compile(rf"[A-Za-z](?:[._\-*|+/][A-Za-z]){{{MIN_SPACED - 1},}}[.,;:!?]?")
_LEET_CHUNK = re.compile(r"[A-Za-z0-9@$!]+")
_HAS_LEET = re.compile(r"[0134578@$!]")


@dataclass(frozen=True)
class Normalized:
    """A normalised text and where each of its characters came from.

    Attributes:
        text: the normalised text.
        original: the text as received.
        starts: (len(text),) int64, the original index of each character of ``text``;
            None when character ``i`` of ``text`` came from character ``i`` of
            ``original`` (no character was added or removed).
    """

    text: str
    original: str
    starts: np.ndarray | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span ``[start, end)`` of ``text`` to a span of ``original``."""
        if self.starts is None:
            return start, end
        n = len(self.starts)
        if end <= start:
            pos = int(self.starts[start]) if start < n else len(self.original)
            return pos, pos
        return int(self.starts[start]), int(self.starts[min(end, n) - 1]) + 1


@lru_cache(maxsize=1 << 14)
def fold_char(c: str) -> str:
    """One non-ASCII character -> its folded form ("" for format characters / marks)."""
    cat = unicodedata.category(c)
    if cat in ("Cf", "Mn", "Me", "Cc", "Cs", "Co"):
        return ""
    if cat in ("Zl", "Zp"):
        return "\n"
    out = []
    for k in unicodedata.normalize("NFKC", c):
        base = "".join(d for d in unicodedata.normalize("NFD", k)
                       if not unicodedata.combining(d))
        out.append(base or k)
    return "".join(out)


class Normalizer:
    """Callable ``text -> Normalized`` (text level: Unicode folding and homoglyphs)."""

    def __call__(self, text: str) -> Normalized:
        if text.isascii():
            return Normalized(text, text)
        pos = [m.start() for m in _NON_ASCII.finditer(text)]
        folded = {i: fold_char(text[i]) for i in pos}
        if all(len(v) == 1 for v in folded.values()):
            chars = list(text)
            for i, v in folded.items():
                chars[i] = v
            return Normalized(_homoglyphs("".join(chars)), text)
        lengths = np.ones(len(text), dtype=np.int64)
        pieces, last = [], 0
        for i, v in folded.items():
            pieces += [text[last:i], v]
            lengths[i] = len(v)
            last = i + 1
        pieces.append(text[last:])
        starts = np.repeat(np.arange(len(text), dtype=np.int64), lengths)
        return Normalized(_homoglyphs("".join(pieces)), text, starts)


def _homoglyphs(text: str) -> str:
    """Map look-alike letters to Latin inside mixed-script / all-look-alike words (1:1)."""
    if text.isascii() or not any(c in HOMOGLYPHS for c in set(text)):
        return text
    out, last = [], 0
    for m in _WORD.finditer(text):
        w = m.group()
        odd = [c for c in w if not c.isascii()]
        if odd and len(w) > 1 and all(c in HOMOGLYPHS for c in odd):
            out += [text[last:m.start()], "".join(HOMOGLYPHS.get(c, c) for c in w)]
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def join_spaced(chunk: str) -> str | None:
    """``i.g.n.o.r.e`` / ``i-g-n-o-r-e`` (one chunk, >= MIN_SPACED letters) -> ``ignore``
    (trailing punctuation kept); None when the chunk is not such a run."""
    if len(chunk) < 2 * MIN_SPACED - 1 or not _SPACED_CHUNK.fullmatch(chunk):
        return None
    tail = chunk[-1] if not chunk[-1].isalpha() else ""
    body = chunk[:-1] if tail else chunk
    return body[::2] + tail


def is_spaced_letter(chunk: str) -> bool:
    """A one-letter chunk (a member of an ``i g n o r e`` run)."""
    return len(chunk) == 1 and chunk.isalpha()


def read_leet(chunk: str, vocab: frozenset[str]) -> str | None:
    """The vocabulary word a digit-for-letter chunk spells (``p4ssw0rd`` -> ``password``,
    case of the letters kept), or None. Trailing ``.,;:!?`` punctuation is kept."""
    core = chunk.rstrip(".,;:?")
    if len(core) < MIN_LEET_WORD or not _LEET_CHUNK.fullmatch(core) \
            or not _HAS_LEET.search(core) or core.isdigit():
        return None
    low = core.lower()
    if low in vocab or not any(c.isalpha() for c in low):
        return None
    new = low.translate(LEET)
    if new not in vocab:
        return None
    cased = "".join(n.upper() if o.isupper() else n for o, n in zip(core, new, strict=True))
    return cased + chunk[len(core):]


def vocab_words(vocab: Iterable[str]) -> frozenset[str]:
    """Whole-word entries of a WordPiece vocabulary (alphabetic, no ``##`` pieces)."""
    return frozenset(w for w in vocab if w.isalpha() and len(w) >= MIN_LEET_WORD)
