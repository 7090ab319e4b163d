"""Meaning-preserving rewrites of real prompts, for the replay's repeated requests.

Each variant applies one or two edits a user makes when asking the same thing again: a
polite prefix or suffix, lower case, a contraction expanded or contracted, the final
punctuation dropped or added, extra whitespace (which the exact tier's normalisation
removes). None changes a number, a name, a negation or the task, so a hit on a variant
is a correct hit. These are surface paraphrases: the QQP-group replay (human
paraphrases) is the harder test of the semantic tier.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

PREFIXES = ("Please answer this: ", "Question: ", "Hi! ", "Can you help me with this? ",
            "I need help with the following. ")
SUFFIXES = (" Thanks!", " Thank you.", " Thanks in advance.")
CONTRACTIONS = (("do not", "don't"), ("does not", "doesn't"), ("is not", "isn't"),
                ("what is", "what's"), ("it is", "it's"), ("I am", "I'm"),
                ("cannot", "can't"), ("are not", "aren't"), ("how is", "how's"))


def _contract(text: str, rng: random.Random) -> str:
    options = []
    for long, short in CONTRACTIONS:
        for a, b in ((long, short), (short, long)):
            if re.search(rf"\b{re.escape(a)}\b", text, re.IGNORECASE):
                options.append((a, b))
    if not options:
        return text
    a, b = rng.choice(options)
    return re.sub(rf"\b{re.escape(a)}\b", b, text, count=1, flags=re.IGNORECASE)


def _punct(text: str, rng: random.Random) -> str:
    s = text.rstrip()
    return s[:-1] if s and s[-1] in "?.!" else s + "?"


EDITS: tuple[Callable[[str, random.Random], str], ...] = (
    lambda t, r: r.choice(PREFIXES) + t,
    lambda t, r: t.rstrip() + r.choice(SUFFIXES),
    lambda t, r: t.lower(),
    _contract,
    _punct,
    lambda t, r: "  " + t.replace(" ", "  ", 1) + "\n",
)


def variants(text: str, n: int, rng: random.Random) -> list[str]:
    """Up to ``n`` distinct variants of ``text`` (each one or two edits), text excluded."""
    out: dict[str, None] = {}
    for _ in range(4 * n):
        v = text
        for edit in rng.sample(EDITS, rng.choice((1, 2))):
            v = edit(v, rng)
        if v != text:
            out.setdefault(v)
        if len(out) >= n:
            break
    return list(out)
