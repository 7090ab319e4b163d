"""What the guard does about each category: ``block``, ``redact``, ``flag`` or ``allow``.

A ``GuardPolicy`` maps each category to an action and names the operating point of the
learned thresholds (``strict`` / ``balanced`` / ``permissive``, each chosen on
validation at the false-positive rate the manifest states). Presets:

============  =========  =======  ======  ======  ==================
preset        injection  harmful  pii     secret  thresholds
============  =========  =======  ======  ======  ==================
strict        block      block    redact  block   strict (high recall)
balanced      block      block    redact  redact  balanced
permissive    flag       block    flag    redact  permissive
============  =========  =======  ======  ======  ==================

``redact`` applies to span categories (pii, secret) only; the verdict of a decision is
the most severe action among its triggered categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from router_model.guard.rules import rules_for

ACTIONS = ("allow", "flag", "redact", "block")  # by severity
SEVERITY = {a: i for i, a in enumerate(ACTIONS)}
CATEGORIES = ("injection", "harmful", "pii", "secret", "tool")
SPAN_CATEGORIES = ("pii", "secret")
OPERATING_POINTS = ("strict", "balanced", "permissive")
# not redacted by default (still reported and counted as PII): entity types that are not
# personal on their own, and the tagger's free-form types, which over-fire on benign
# traffic with the current artifact (docs/guard.md: thousands of PERSON / ORGANIZATION
# spans on 2,784 held-out benign prompts); name them in ``redact_entities`` to redact them
NOT_REDACTED_BY_DEFAULT = ("DATE_TIME", "TITLE", "NRP", "DOMAIN_NAME", "AGE", "PERSON",
                           "ORGANIZATION", "GPE", "STREET_ADDRESS", "ZIP_CODE",
                           "US_DRIVER_LICENSE")


class PolicyError(ValueError):
    """A policy names an unknown category, action or operating point."""


@dataclass(frozen=True)
class GuardPolicy:
    """Per-category actions and the threshold operating point.

    Attributes:
        actions: category -> action (categories not named: ``allow``).
        operating_point: which manifest thresholds to use.
        redact_entities: PII entity types ``redact`` replaces (None = all but
            ``NOT_REDACTED_BY_DEFAULT``).
        edge_only_on_pii: route a request with PII to edge backends only.
    """

    actions: Mapping[str, str] = field(default_factory=dict)
    operating_point: str = "balanced"
    redact_entities: frozenset[str] | None = None
    edge_only_on_pii: bool = False

    def __post_init__(self) -> None:
        for cat, act in self.actions.items():
            if cat not in CATEGORIES:
                raise PolicyError(f"policy.actions: unknown category {cat!r}; "
                                  f"expected one of {CATEGORIES}")
            if act not in ACTIONS:
                raise PolicyError(f"policy.actions.{cat}: expected one of {ACTIONS}, "
                                  f"got {act!r}")
            if act == "redact" and cat not in SPAN_CATEGORIES:
                raise PolicyError(f"policy.actions.{cat}: 'redact' needs spans; only "
                                  f"{SPAN_CATEGORIES} can be redacted")
        if self.operating_point not in OPERATING_POINTS:
            raise PolicyError(f"policy.operating_point: expected one of {OPERATING_POINTS}, "
                              f"got {self.operating_point!r}")

    def action(self, category: str) -> str:
        return self.actions.get(category, "allow")

    def redacts(self, entity_type: str) -> bool:
        if self.redact_entities is None:
            return entity_type not in NOT_REDACTED_BY_DEFAULT
        return entity_type in self.redact_entities

    @cached_property
    def rules(self) -> tuple[str, ...]:
        """The PII rules a check under this policy runs: the structured ones always, a
        free-form one (dates, places) only where the policy redacts one of its types
        (``rules.rules_for``): a date it would not act on needs no scan."""
        return rules_for(self.redacts)

    def verdict(self, triggered: Iterable[str]) -> str:
        """The most severe action among the triggered categories (``allow`` if none)."""
        return max((self.action(c) for c in triggered), key=SEVERITY.__getitem__,
                   default="allow")

    def with_actions(self, **overrides: str) -> GuardPolicy:
        return GuardPolicy({**self.actions, **overrides}, self.operating_point,
                           self.redact_entities, self.edge_only_on_pii)


PRESETS: dict[str, GuardPolicy] = {
    "strict": GuardPolicy({"injection": "block", "harmful": "block", "pii": "redact",
                           "secret": "block", "tool": "block"}, "strict"),
    "balanced": GuardPolicy({"injection": "block", "harmful": "block", "pii": "redact",
                             "secret": "redact", "tool": "block"}, "balanced"),
    "permissive": GuardPolicy({"injection": "flag", "harmful": "block", "pii": "flag",
                               "secret": "redact", "tool": "block"}, "permissive"),
}


def make_policy(preset: str = "balanced", actions: Mapping[str, str] | None = None,
                operating_point: str | None = None,
                redact_entities: Iterable[str] | None = None,
                edge_only_on_pii: bool = False) -> GuardPolicy:
    """A preset with overrides (the form the gateway's config takes)."""
    if preset not in PRESETS:
        raise PolicyError(f"policy.preset: expected one of {tuple(PRESETS)}, got {preset!r}")
    base = PRESETS[preset]
    return GuardPolicy({**base.actions, **(actions or {})},
                       operating_point or base.operating_point,
                       frozenset(redact_entities) if redact_entities is not None else None,
                       edge_only_on_pii)
