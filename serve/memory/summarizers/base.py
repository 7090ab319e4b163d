"""The summarizer interface and its registry.

A summarizer turns source items into one text: level 1 = messages of one chunk (a
detailed summary), level 2 = summaries being merged into the broad one. It must be a
pure function of its inputs and configuration (``key`` names both), so a summary's
content address (serve/memory/planner.py) identifies its text.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from serve.memory.errors import InvalidInput


@dataclass(frozen=True)
class SourceItem:
    """One input of a summary: a message (``role`` user/assistant/...) or a summary
    (``role`` = "summary"); ``ts`` in unix seconds when known."""

    id: str
    role: str
    text: str
    ts: float | None = None


def day(ts: float | None) -> str:
    """``8 May 2023`` (UTC) or "" without a time."""
    if ts is None:
        return ""
    d = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return f"{d.day} {d:%B %Y}"


class Summarizer(ABC):
    """``summarize(items, level) -> text``."""

    name: ClassVar[str] = ""

    @property
    def key(self) -> str:
        """Identity of the summarizer and its settings (part of every summary id)."""
        return self.name

    @abstractmethod
    def summarize(self, items: Sequence[SourceItem], level: int) -> str: ...

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the summarizer holds (an embedded model server)."""


_REGISTRY: dict[str, Callable[..., Summarizer]] = {}


def register(name: str) -> Callable[[type[Summarizer]], type[Summarizer]]:
    def deco(cls: type[Summarizer]) -> type[Summarizer]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def make_summarizer(name: str, **kwargs: Any) -> Summarizer:
    """A registered summarizer by name (``stub``, ``extractive``, ``llm``)."""
    from serve.memory.summarizers import extractive, llm, stub  # noqa: F401 (register)

    if name not in _REGISTRY:
        raise InvalidInput(f"summarizer: expected one of {sorted(_REGISTRY)}, got {name!r}")
    return _REGISTRY[name](**kwargs)


def names() -> list[str]:
    from serve.memory.summarizers import extractive, llm, stub  # noqa: F401 (register)

    return sorted(_REGISTRY)
