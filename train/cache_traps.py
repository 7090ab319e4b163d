"""Trap pairs for the semantic cache: a question and a near copy that needs another answer.

Each generator takes one question and returns a perturbed copy (or None when the rule
does not apply). Categories (all label 0, "must not hit"):

- ``negation``: a negation inserted or removed ("Can I ..." -> "Can't I ...").
- ``swapped_entities``: roles swapped ("from X to Y" -> "from Y to X", "X better than
  Y" -> "Y better than X") or one named entity replaced by another of its kind.
- ``numbers_dates``: a number, year, month, weekday or number word changed.
- ``scope``: a quantifier or polar term flipped (all/some, best/worst, before/after, ...)
  or a restricting qualifier appended ("... for beginners").

plus ``surface`` (label 1, "should hit"): case, punctuation, a polite prefix or a
contraction expanded, so a verifier cannot pass by refusing every edited text.

Entity and month lexicons are split in two halves (``half`` 0 for training, 1 for
evaluation): a held-out trap never uses a substitute word the training traps used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from train.cache_lexicon import LEXICONS, QUALIFIERS, SCOPE_FLIPS

TRAP_CATEGORIES = ("negation", "swapped_entities", "numbers_dates", "scope")
SURFACE = "surface"
CATEGORIES = (*TRAP_CATEGORIES, SURFACE)


@dataclass(frozen=True)
class TrapPair:
    """One generated pair; ``label`` 1 = the same request, 0 = needs another answer."""

    a: str
    b: str
    label: int
    category: str


Rule = Callable[[str, random.Random, int], str | None]

_AUX = r"is|are|was|were|can|could|should|would|will|do|does|did|has|have|must"
_NEG_CONTRACT = {"can": "can't", "could": "couldn't", "should": "shouldn't",
                 "would": "wouldn't", "will": "won't", "do": "don't", "does": "doesn't",
                 "did": "didn't", "is": "isn't", "are": "aren't", "was": "wasn't",
                 "were": "weren't", "has": "hasn't", "have": "haven't", "must": "mustn't"}
_UNCONTRACT = {v: k for k, v in _NEG_CONTRACT.items()}
_FIRST_AUX = re.compile(rf"\b({_AUX})\b", re.IGNORECASE)
_CONTRACTED = re.compile(r"\b(\w+n't)\b", re.IGNORECASE)
_NOT = re.compile(r"\b(not|never)\s+", re.IGNORECASE)


def _case_like(word: str, like: str) -> str:
    """``word`` with the capitalisation of ``like`` (Title / UPPER / lower)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


_PRONOUN = re.compile(rf"\b({_AUX})\s+(i|you|we|they|he|she|it|one|people|someone)\b",
                      re.IGNORECASE)


def negate(text: str, rng: random.Random, half: int) -> str | None:
    """Remove a negation when there is one, else negate the first auxiliary verb
    ("How can I ..." -> "How can I not ...", "Is it ..." -> "Isn't it ...")."""
    m = _CONTRACTED.search(text)
    if m and m.group(1).lower() in _UNCONTRACT:
        plain = _case_like(_UNCONTRACT[m.group(1).lower()], m.group(1))
        return text[:m.start()] + plain + text[m.end():]
    m = _NOT.search(text)
    if m:
        return text[:m.start()] + text[m.end():]
    m = _PRONOUN.search(text)
    if m and m.start() > 0 and rng.random() < 0.7:
        return text[:m.end()] + " not" + text[m.end():]
    m = _FIRST_AUX.search(text)
    if not m:
        return None
    aux = m.group(1)
    return text[:m.start()] + _case_like(_NEG_CONTRACT[aux.lower()], aux) + text[m.end():]


_ROLE = [re.compile(r"\b(from) ([A-Z][\w.+#-]*(?: [A-Z][\w.+#-]*)?) (to) "
                    r"([A-Z][\w.+#-]*(?: [A-Z][\w.+#-]*)?)"),
         re.compile(r"\b([A-Z][\w.+#-]*) (better|worse|bigger|smaller|stronger|richer|"
                    r"safer|faster|cheaper|older) than ([A-Z][\w.+#-]*)"),
         re.compile(r"\b(convert|translate|switch|move|migrate) ([\w.+#-]+) (to|into) "
                    r"([\w.+#-]+)", re.IGNORECASE)]


def _swap_roles(text: str) -> str | None:
    for rx in _ROLE:
        m = rx.search(text)
        if not m:
            continue
        g = m.groups()
        swapped = f"{g[2]} {g[1]} than {g[0]}" if len(g) == 3 else \
            f"{g[0]} {g[3]} {g[2]} {g[1]}"
        if g[-1].lower() != g[1 if len(g) == 4 else 0].lower():
            return text[:m.start()] + swapped + text[m.end():]
    return None


def _in_half(words: Sequence[str], half: int) -> list[str]:
    return [w for i, w in enumerate(words) if i % 2 == half]


def _substitute(text: str, rng: random.Random, half: int,
                lexicons: Mapping[str, Sequence[str]]) -> str | None:
    """Replace one lexicon word (of this half) with another word of the same kind."""
    hits: list[tuple[re.Match[str], list[str]]] = []
    for words in lexicons.values():
        mine = _in_half(words, half)
        for w in mine:
            m = re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE)
            if m:
                hits.append((m, [x for x in mine if x.lower() != w.lower()]))
    if not hits:
        return None
    m, others = hits[rng.randrange(len(hits))]
    new = _case_like(rng.choice(others), m.group(0))
    return text[:m.start()] + new + text[m.end():]


def swap_entities(text: str, rng: random.Random, half: int) -> str | None:
    """Swap two roles when the text has them, else substitute one named entity."""
    return _swap_roles(text) or _substitute(text, rng, half, LEXICONS["entities"])


_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w.]*\d)")


def _new_number(tok: str, rng: random.Random) -> str:
    digits = tok.replace(",", "")
    if "." in digits:
        return f"{float(digits) + rng.choice([-1, 1]) * rng.choice([0.5, 1, 2]):g}"
    n = int(digits)
    if 1900 <= n <= 2035:
        return str(n + rng.choice([-3, -2, -1, 1, 2, 3]))
    grow = n < 2 or rng.random() < 0.6
    delta = max(1, round(n * rng.choice([0.5, 1.0] if grow else [0.25, 0.5])))
    new = n + delta if grow else n - delta
    return f"{new:,}" if "," in tok else str(max(new, 0) if new != n else n + 1)


def change_number(text: str, rng: random.Random, half: int) -> str | None:
    """Change one number or year; else a month, weekday or number word (this half)."""
    nums = list(_NUMBER.finditer(text))
    if nums:
        m = rng.choice(nums)
        new = _new_number(m.group(1), rng)
        if new != m.group(1):
            return text[:m.start(1)] + new + text[m.end(1):]
    return _substitute(text, rng, half, LEXICONS["dates"])


def change_scope(text: str, rng: random.Random, half: int) -> str | None:
    """Flip a scope / polar term; else append a restricting qualifier."""
    flips = [(m, b) for a, b in SCOPE_FLIPS for m in
             [re.search(rf"\b{re.escape(a)}\b", text, re.IGNORECASE)] if m]
    if flips:
        m, b = flips[rng.randrange(len(flips))]
        return text[:m.start()] + _case_like(b, m.group(0)) + text[m.end():]
    body = text.rstrip(" ?.!")
    qualifier = rng.choice(_in_half(QUALIFIERS, half))
    if len(body) < 8 or qualifier.split()[-1].lower() in body.lower():
        return None
    return body + " " + qualifier + (text[len(body):] or "?")


_PREFIXES = ("Please tell me: ", "Quick question: ", "Can you tell me: ", "I wonder: ")


def surface(text: str, rng: random.Random, half: int) -> str | None:
    """A meaning-preserving edit: case, punctuation, polite prefix, contraction."""
    m = _CONTRACTED.search(text)
    options: list[Callable[[], str]] = [
        lambda: text.lower(), lambda: text.rstrip("?.! ") if text.endswith("?") else text + "?",
        lambda: rng.choice(_PREFIXES) + text[:1].lower() + text[1:]]
    if m and m.group(1).lower() in _UNCONTRACT:
        word = m.group(1).lower()
        full = "will not" if word == "won't" else "cannot" if word == "can't" else \
            _UNCONTRACT[word] + " not"
        options.append(lambda: text[:m.start()] + _case_like(full, m.group(1)) + text[m.end():])
    out = rng.choice(options)()
    return out if out != text else None


RULES: dict[str, Rule] = {"negation": negate, "swapped_entities": swap_entities,
                          "numbers_dates": change_number, "scope": change_scope,
                          SURFACE: surface}


def make_traps(questions: Sequence[str], half: int, seed: int = 0,
               per_category: int = 0) -> list[TrapPair]:
    """Apply every rule to the questions (each question at most once per category).

    Args:
        questions: source texts (one split's questions only, so traps stay leak-free).
        half: lexicon half (0 = training, 1 = evaluation).
        per_category: cap on pairs per category (0 = no cap).
    """
    rng = random.Random(seed)
    order = list(questions)
    rng.shuffle(order)
    out: list[TrapPair] = []
    for cat, rule in RULES.items():
        n = 0
        for q in order:
            b = rule(q, rng, half)
            if b is None or b.strip() == q.strip():
                continue
            out.append(TrapPair(q, b, 1 if cat == SURFACE else 0, cat))
            n += 1
            if per_category and n >= per_category:
                break
    return out
