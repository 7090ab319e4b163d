"""Validate a log against the canonical schema (``data.schema``), vectorised.

``validate_frame(df)`` returns a ``ValidationReport``: a list of ``Problem``s (column,
rule, example rows, count, message) and the per-row rejection reasons, so that rejected
rows can be quarantined instead of silently dropped. Row numbers are 0-based positions
in the file (header not counted).
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data.schema import COLUMNS, SCHEMA
from data.validate_rules import (
    FLOAT_COLUMNS,
    INT_COLUMNS,
    RuleHit,
    cross_rules,
    meta_rules,
    numeric,
    numeric_rules,
    text_rules,
    timestamp_rules,
)

log = logging.getLogger(__name__)
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Problem:
    """One kind of problem in a log.

    Attributes:
        column: offending column (or "a,b" for cross-column rules, "*" for the file).
        rule: short id (missing_column, type, missing, negative, range, duplicate, ...).
        rows: up to five offending 0-based row numbers.
        count: number of offending rows (0 for column-level problems).
        message: what was expected.
        severity: "error" (exit 2) or "warning".
    """

    column: str
    rule: str
    rows: tuple[int, ...]
    count: int
    message: str
    severity: str = "error"

    def line(self) -> str:
        """One human-readable line: column, rule, expectation, count, example rows."""
        head = f"{self.severity.upper()} {self.column} [{self.rule}]: expected {self.message}"
        if not self.count:
            return head
        rows = ", ".join(map(str, self.rows))
        return f"{head}; {self.count} row(s), e.g. row {rows}"


@dataclass
class ValidationReport:
    """Result of validating one log.

    Attributes:
        n_rows: rows checked.
        problems: errors and warnings, errors first.
        reasons: (n_rows,) object array, "" for clean rows, else "column:rule; ...".
        unusable: True when a column-level error makes every row unusable.
    """

    n_rows: int
    problems: list[Problem] = field(default_factory=list)
    reasons: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    unusable: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected(self) -> np.ndarray:
        """(n_rows,) bool, True = row rejected."""
        if self.unusable:
            return np.ones(self.n_rows, dtype=bool)
        return self.reasons != ""


def _column_problems(df: pd.DataFrame) -> list[Problem]:
    names = set(df.columns)
    extra = [c for c in df.columns if c not in SCHEMA.names]
    out = []
    for col in COLUMNS:
        if col.name in names or col.nullable:
            continue
        guess = difflib.get_close_matches(col.name, [str(c) for c in extra], n=1, cutoff=0.6)
        hint = f" (found {guess[0]!r}: misspelled?)" if guess else ""
        out.append(
            Problem(
                col.name, "missing_column", (), 0, f"a column {col.name!r} ({col.allowed}){hint}"
            )
        )
    for name in extra:
        guess = difflib.get_close_matches(str(name), SCHEMA.names, n=1, cutoff=0.6)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        out.append(
            Problem(
                str(name),
                "unknown_column",
                (),
                0,
                f"only schema columns (this one is ignored){hint}",
                "warning",
            )
        )
    return out


def _row_hits(df: pd.DataFrame) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for col in COLUMNS:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if col.name in FLOAT_COLUMNS or col.name in INT_COLUMNS:
            hits += numeric_rules(col.name, s, col.nullable)
        elif col.name == "timestamp":
            hits += timestamp_rules(s)
        elif col.name == "meta":
            hits += meta_rules(s)
        else:
            hits += text_rules(col.name, s, col.nullable)
    return hits + cross_rules(df)


def _reasons(n: int, hits: list[RuleHit]) -> np.ndarray:
    reasons = np.full(n, "", dtype=object)
    for h in hits:
        idx = np.flatnonzero(h.mask)
        if len(idx):
            tag = f"{h.column}:{h.rule}"
            reasons[idx] = np.where(reasons[idx] == "", tag, reasons[idx] + "; " + tag)
    return reasons


def validate_frame(df: pd.DataFrame) -> ValidationReport:
    """Check every schema rule on ``df`` (n rows) and collect problems."""
    problems = _column_problems(df)
    hits = [h for h in _row_hits(df) if h.mask.any()]
    for h in hits:
        idx = np.flatnonzero(h.mask)
        problems.append(
            Problem(
                h.column, h.rule, tuple(int(i) for i in idx[:MAX_EXAMPLES]), len(idx), h.expected
            )
        )
    problems.sort(key=lambda p: p.severity != "error")
    unusable = any(p.rule == "missing_column" for p in problems)
    return ValidationReport(len(df), problems, _reasons(len(df), hits), unusable)


def coerce_clean(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns of validated rows as numbers (e.g. text read from JSON/CSV)."""
    cols = {c: numeric(df[c])[0] for c in (*FLOAT_COLUMNS, *INT_COLUMNS) if c in df}
    for c in INT_COLUMNS:
        if c in cols:
            cols[c] = cols[c].astype(np.int64)
    return df.assign(**cols)


def summary_line(path: str | Path, df: pd.DataFrame, report: ValidationReport) -> str:
    """One-line OK summary: rows, requests, models, warnings."""
    n_req = df["request_id"].nunique() if "request_id" in df else 0
    n_mod = df["model"].nunique() if "model" in df else 0
    warn = len(report.problems) - len(report.errors)
    return (
        f"OK {path}: {report.n_rows} rows, {n_req} requests, {n_mod} models, "
        f"0 errors, {warn} warning(s)"
    )
