"""An extractive summarizer (no LLM): the most salient sentences, kept verbatim, each
tagged with the id (and day) of the message it came from.

Salience of a sentence = the rarity (within this input) of its content words, with
names and numbers counted double, divided by the square root of its length; a sentence
too similar to one already kept is skipped. Level 2 re-selects among the lines of the
summaries it merges, keeping their tags, so a broad summary's every sentence still
names its source message.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from serve.memory.summarizers.base import SourceItem, Summarizer, day, register
from serve.memory.words import wordset

_SENT = re.compile(r"(?<=[.!?])\s+")
_SPEAKER = re.compile(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*)?): ")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_LINE = re.compile(r"^\[([^\]|]+?)(?: \| ([^\]]+))?\] (.*)$")
STOPWORDS = wordset("""
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your
yours yourself yourselves yes yeah oh wow hey hi hello thanks thank really so great
awesome cool good nice glad love lot totally definitely sounds sure okay ok well also
much things thing like get got going know think feel one way
""")


@dataclass(frozen=True)
class _Sentence:
    pos: int
    src: str
    when: str
    text: str
    words: frozenset[str]
    length: int


def content_words(text: str) -> list[str]:
    return [w for w in (t.lower() for t in _WORD.findall(text)) if w not in STOPWORDS]


def _sentences(items: Sequence[SourceItem], level: int) -> list[_Sentence]:
    out: list[_Sentence] = []
    for it in items:
        if level == 1:
            m = _SPEAKER.match(it.text)
            speaker, body = (m.group(1) + ": ", it.text[m.end():]) if m else ("", it.text)
            parts = [(it.id, day(it.ts), speaker + s) for s in _SENT.split(body.strip()) if s]
        else:
            lines = (_LINE.match(line) for line in it.text.splitlines())
            parts = [(g.group(1), g.group(2) or "", g.group(3)) for g in lines if g]
        for src, when, text in parts:
            words = content_words(text)
            out.append(_Sentence(len(out), src, when, text, frozenset(words),
                                 len(_WORD.findall(text))))
    return out


def _boost(text: str) -> set[str]:
    """Content words written as a name (capitalised, not first) or containing a digit."""
    toks = _WORD.findall(text)
    return {t.lower() for i, t in enumerate(toks) if (i > 0 and t[0].isupper())
            or any(c.isdigit() for c in t)}


@register("extractive")
class ExtractiveSummarizer(Summarizer):
    """Keeps up to ``max_words`` (level 1) / ``broad_words`` (level 2) words."""

    def __init__(self, max_words: int = 60, broad_words: int = 120, min_content: int = 3,
                 max_overlap: float = 0.6) -> None:
        self.max_words = max_words
        self.broad_words = broad_words
        self.min_content = min_content
        self.max_overlap = max_overlap

    @property
    def key(self) -> str:
        return f"extractive:1:{self.max_words}:{self.broad_words}:{self.min_content}"

    def summarize(self, items: Sequence[SourceItem], level: int) -> str:
        sents = _sentences(items, level)
        df = Counter(w for s in sents for w in s.words)
        n = max(1, len(sents))

        def score(s: _Sentence) -> float:
            boost = _boost(s.text)
            raw = sum(math.log(1 + n / df[w]) * (2.0 if w in boost else 1.0) for w in s.words)
            return raw / math.sqrt(max(1, s.length))

        budget = self.max_words if level == 1 else self.broad_words
        kept: list[_Sentence] = []
        used = 0
        for s in sorted(sents, key=lambda s: (-score(s), s.pos)):
            if len(s.words) < self.min_content or used + s.length > budget:
                continue
            if any(len(s.words & k.words) > self.max_overlap * len(s.words) for k in kept):
                continue
            kept.append(s)
            used += s.length
        return "\n".join(f"[{s.src}{' | ' + s.when if s.when else ''}] {s.text}"
                         for s in sorted(kept, key=lambda s: s.pos))
