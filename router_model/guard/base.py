"""The small base every guard check implements, and the registry that builds them.

A check reads a ``Document`` (the normalised text, its tokenization made once and
shared) and returns a ``CheckResult``: scores per category and spans in the normalised
text. ``Guard`` runs the checks the artifact's manifest lists, in order, and turns
their results into a decision. New checks register with ``@register_check("name")``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from router_model.guard.encoding import Encoding, GuardEncoder
from router_model.guard.normalize import Normalized
from router_model.guard.rules import DEFAULT_RULES
from router_model.guard.spans import Span


@dataclass
class Document:
    """One text as the checks see it.

    Attributes:
        norm: the normalised text (and the map back to the original).
        encoder: the shared tokenizer (None when no check needs tokens).
        operating_point: which thresholds span-producing checks use.
        rules: the names of the PII rules (``rules.RULES``) the rule check runs.
    """

    norm: Normalized
    encoder: GuardEncoder | None = None
    operating_point: str = "balanced"
    rules: tuple[str, ...] = DEFAULT_RULES
    _encoding: Encoding | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.norm.text

    @property
    def encoding(self) -> Encoding:
        """The tokenization of the normalised text (made on first use)."""
        if self._encoding is None:
            if self.encoder is None:
                raise RuntimeError("Document.encoding: no encoder given")
            self._encoding = self.encoder(self.norm.text)
        return self._encoding


@dataclass
class CheckResult:
    """Scores per category (in [0, 1]) and spans in the normalised text."""

    scores: dict[str, float] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)


class GuardCheck(ABC):
    """One check (rules, a learned scorer, ...)."""

    name: ClassVar[str] = ""
    needs_tokens: ClassVar[bool] = False

    @abstractmethod
    def run(self, doc: Document) -> CheckResult:
        """Check one document."""


C = TypeVar("C", bound=type[GuardCheck])
CHECKS: dict[str, type[GuardCheck]] = {}


def register_check(name: str) -> Callable[[C], C]:
    """Class decorator: make a check buildable by name."""

    def deco(cls: C) -> C:
        if name in CHECKS:
            raise ValueError(f"guard check {name!r} registered twice")
        cls.name = name
        CHECKS[name] = cls
        return cls

    return deco


def make_check(name: str, **kwargs: Any) -> GuardCheck:
    """Build a registered check."""
    if name not in CHECKS:
        raise ValueError(f"guard check: unknown {name!r}; registered: {sorted(CHECKS)}")
    return CHECKS[name](**kwargs)
