"""A deterministic summarizer for tests: the first words of each source, tagged with its
id. It quotes its sources verbatim, so a test can see erased text leave the summaries."""

from __future__ import annotations

from collections.abc import Sequence

from serve.memory.summarizers.base import SourceItem, Summarizer, register


@register("stub")
class StubSummarizer(Summarizer):
    def __init__(self, words: int = 12, broad_words: int = 40) -> None:
        self.words = words
        self.broad_words = broad_words

    @property
    def key(self) -> str:
        return f"stub:{self.words}:{self.broad_words}"

    def summarize(self, items: Sequence[SourceItem], level: int) -> str:
        n = self.words if level == 1 else self.broad_words
        parts = [f"{it.id}: {' '.join(it.text.split()[:n])}" for it in items]
        return f"[stub L{level}] " + " | ".join(parts)
