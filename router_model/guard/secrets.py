"""API keys, tokens and other secrets: known key formats, and ``name = value`` pairs
whose value looks random (``validators.looks_random``).

Known formats are found only when their literal prefix occurs in the text (a substring
test), so text without one costs a few ``in`` checks. Entity types: ``API_KEY`` (vendor
keys and tokens), ``PRIVATE_KEY`` (PEM blocks), ``JWT``, ``SECRET`` (the value of an
assignment such as ``password: hunter2-Xq9``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_model.guard.spans import Span
from router_model.guard.validators import looks_random

SECRET_ENTITIES = ("PRIVATE_KEY", "API_KEY", "JWT", "SECRET")
# (literal that must occur, pattern, entity type)
KNOWN: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("-----BEGIN", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]{0,8000}?"
                              r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)"), "PRIVATE_KEY"),
    ("AKIA", re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "API_KEY"),
    ("ASIA", re.compile(r"\bASIA[0-9A-Z]{16}\b"), "API_KEY"),
    ("gh", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"), "API_KEY"),
    ("github_pat_", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"), "API_KEY"),
    ("glpat-", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20}\b"), "API_KEY"),
    ("sk-", re.compile(r"\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"), "API_KEY"),
    ("k_live_", re.compile(r"\b[rsp]k_live_[A-Za-z0-9]{16,}\b"), "API_KEY"),
    ("k_test_", re.compile(r"\b[rsp]k_test_[A-Za-z0-9]{16,}\b"), "API_KEY"),
    ("xox", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b"), "API_KEY"),
    ("AIza", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "API_KEY"),
    ("hf_", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), "API_KEY"),
    ("eyJ", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
     "JWT"),
)
KEYWORDS = ("key", "secret", "token", "passw", "pwd", "credential", "auth")
_ASSIGN = re.compile(
    r"(?i)\b(?:[a-z0-9_\-]*(?:api[_\-]?key|secret|token|passw(?:or)?d|pwd|credential|"
    r"auth)[a-z0-9_\-]*)[\"']?\s{0,3}(?:[:=]|=>|is)\s{0,3}[\"']?([^\s\"',;]{8,200})")


def known_keys(text: str) -> Iterator[Span]:
    for literal, pattern, kind in KNOWN:
        if literal in text:
            for m in pattern.finditer(text):
                yield Span(kind, m.start(), m.end())


def assignments(text: str) -> Iterator[Span]:
    """The value of ``password = ...`` / ``"api_key": "..."`` when it looks random."""
    low = text.lower()
    if not any(k in low for k in KEYWORDS):
        return
    for m in _ASSIGN.finditer(text):
        if looks_random(m.group(1), min_len=8):
            yield Span("SECRET", m.start(1), m.end(1))


def find_secrets(text: str) -> list[Span]:
    """All secret spans of ``text`` (unresolved; ``spans.resolve`` merges overlaps)."""
    return [*known_keys(text), *assignments(text)]
