"""The verification scan after an erasure: the erased text's distinctive n-grams are
looked for in every store, including the raw bytes of the database files.

Needles: every run of ``n`` consecutive words of an erased message (a shorter message:
the whole text), plus its rare single tokens (>= 8 characters, or >= 6 mixing letters
and digits, such as a planted canary); a needle is *distinctive* when no remaining
message anywhere in the store contains it (those that do are counted as not distinctive
and not searched: finding them proves nothing). Matching is case-insensitive over
whitespace-normalised text; the raw scan looks for the UTF-8 bytes, lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from serve.memory.types import StoreScan, Verification

_TOKEN = re.compile(r"[^\W_][\w'-]*[^\W_]|[^\W_]", re.UNICODE)


class Scannable(Protocol):
    """A store outside the database (a retrieval index, a cache) that can be searched."""

    def scan(self, needles: Sequence[str]) -> list[StoreScan]: ...


def normalise(text: str) -> str:
    """Lower-cased, runs of whitespace as one space (``str.split``: C speed)."""
    return " ".join(text.split()).lower()


def candidates(text: str, n: int = 4, max_per_text: int = 48) -> list[str]:
    """Word n-grams (evenly sampled when there are many) and rare tokens of one text."""
    words = normalise(text).split(" ")
    if len(words) <= n:
        grams = [" ".join(words)] if len(" ".join(words)) >= 6 else []
    else:
        grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
        if len(grams) > max_per_text:
            step = len(grams) / max_per_text
            grams = [grams[int(k * step)] for k in range(max_per_text)]
    rare = [t.lower() for t in _TOKEN.findall(text)
            if len(t) >= 8 or (len(t) >= 6 and any(c.isdigit() for c in t)
                               and any(c.isalpha() for c in t))]
    return list(dict.fromkeys(grams + rare))


def needles(erased: Iterable[str], remaining: Iterable[str],
            n: int = 4) -> tuple[list[str], list[str]]:
    """(distinctive needles, needles that also occur in remaining messages)."""
    pool = [c for text in erased for c in candidates(text, n)]
    pool = list(dict.fromkeys(pool))
    corpus = normalise("\x00".join(remaining))
    keep = [c for c in pool if c not in corpus]
    return keep, [c for c in pool if c in corpus]


def scan_bytes(paths: Sequence[Path], needles_: Sequence[str]) -> StoreScan:
    """Case-insensitive search of the files' raw bytes (each needle as UTF-8, with its
    words separated by one space)."""
    total, hits, where = 0, 0, []
    raw = [n.encode() for n in needles_]
    for p in paths:
        data = p.read_bytes().lower()
        total += len(data)
        for k, needle in enumerate(raw):
            if needle and needle in data:
                hits += 1
                where.append(f"{p.name}: n-gram #{k}")
    return StoreScan("raw_db_files", total, hits, "bytes", where[:10])


def scan_texts(name: str, texts: Sequence[str], needles_: Sequence[str]) -> StoreScan:
    """Search in-memory texts (an index's documents)."""
    hits, where = 0, []
    for i, t in enumerate(texts):
        low = normalise(t)
        found = [k for k, n in enumerate(needles_) if n in low]
        if found:
            hits += 1
            where.append(f"{name}[{i}]: n-gram #{found[0]}")
    return StoreScan(name, len(texts), hits, "items", where[:10])


def verification(n: int, needles_: list[str], not_distinctive: list[str],
                 stores: list[StoreScan]) -> Verification:
    return Verification(n, len(needles_), len(not_distinctive), stores)
