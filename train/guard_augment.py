"""Ways attacks hide, used to build evaluation sets (and, for embedding, training windows).

- ``embed_text``: an attack placed inside a benign prompt (the "benign wrapper" the
  windowed scoring must see through).
- ``obfuscate``: the tricks the normaliser undoes: zero-width characters between letters,
  Cyrillic homoglyphs, full-width letters, spaced-out letters, digits for letters.
Deterministic given the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from router_model.guard.normalize import HOMOGLYPHS

_TO_CYRILLIC = {lat: cyr for cyr, lat in HOMOGLYPHS.items() if "\u0400" <= cyr <= "\u04ff"}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def embed_text(attack: str, benign: str, rng: random.Random) -> str:
    """``attack`` inserted at a random sentence boundary of ``benign``."""
    cuts = [i + 1 for i, c in enumerate(benign) if c in ".?!\n"] or [len(benign)]
    at = rng.choice(cuts)
    return f"{benign[:at]} {attack} {benign[at:]}".strip()


def zero_width(text: str, rng: random.Random) -> str:
    return "".join(c + ("\u200b" if c.isalpha() and rng.random() < 0.5 else "") for c in text)


def homoglyphs(text: str, rng: random.Random) -> str:
    return "".join(_TO_CYRILLIC.get(c, c) if rng.random() < 0.5 else c for c in text)


def full_width(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spaced(text: str, rng: random.Random) -> str:
    """Every word of 4+ letters written with spaces between its letters; words apart by
    three spaces."""
    return "   ".join(" ".join(w) if len(w) >= 4 and w.isalpha() else w for w in text.split())


def leet(text: str, rng: random.Random) -> str:
    return "".join(_LEET.get(c, c) if c in _LEET and rng.random() < 0.6 else c for c in text)


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "zero_width": zero_width, "homoglyphs": homoglyphs, "full_width": full_width,
    "spaced": spaced, "leet": leet}


def obfuscate(text: str, rng: random.Random) -> tuple[str, str]:
    """One obfuscation, picked at random -> (name, text)."""
    name = rng.choice(sorted(OBFUSCATIONS))
    return name, OBFUSCATIONS[name](text, rng)
