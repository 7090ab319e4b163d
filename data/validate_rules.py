"""Vectorised row rules of log validation: each returns boolean masks of offending rows.

Every function takes a column (pandas Series, n rows) and returns ``RuleHit``s, each a
(n,) bool mask. No per-row Python except for the rare object column mixing types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import MEASUREMENT_SOURCES, SOURCES

INT_COLUMNS = ("prompt_tokens", "completion_tokens")
NONNEG_COLUMNS = ("cost_usd", "latency_ms", "energy_j", *INT_COLUMNS)
FLOAT_COLUMNS = ("quality", "cost_usd", "latency_ms", "energy_j", "propensity")
TEXT_COLUMNS = ("request_id", "query", "model")
OPTIONAL_TEXT = ("task", "logging_policy")
ENUMS: dict[str, tuple[str, ...]] = {
    "source": SOURCES,
    "latency_source": MEASUREMENT_SOURCES,
    "energy_source": MEASUREMENT_SOURCES,
}
BANDIT_SOURCES = ("gateway", "simulated")


@dataclass(frozen=True)
class RuleHit:
    """Rows of one column breaking one rule.

    Attributes:
        column: column name; rule: short rule id; expected: what was expected;
        mask: (n,) bool, True = offending row.
    """

    column: str
    rule: str
    expected: str
    mask: np.ndarray


def _is_text(s: pd.Series) -> np.ndarray:
    """(n,) True where the value is a string (null counts as text: checked elsewhere)."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return np.ones(len(s), dtype=bool)
    if s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("string", "empty"):
            return np.ones(len(s), dtype=bool)
        return (s.map(lambda v: isinstance(v, str)) | s.isna()).to_numpy(dtype=bool)
    return s.isna().to_numpy(dtype=bool)


def numeric(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values (n,) float64 with NaN for null, wrong_type (n,) bool)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return np.full(len(s), np.nan), np.ones(len(s), dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(s), dtype=bool)
    coerced = pd.to_numeric(s, errors="coerce")
    values = coerced.to_numpy(dtype=float, na_value=np.nan)
    bad = s.notna().to_numpy() & np.isnan(values)
    return values, bad


def numeric_rules(name: str, s: pd.Series, nullable: bool) -> list[RuleHit]:
    """Type, null/NaN, finiteness, sign, integrality and range rules of a numeric column."""
    values, wrong = numeric(s)
    hits = [RuleHit(name, "type", "a number", wrong)]
    nan = np.isnan(values) & ~wrong
    if not nullable:
        hits.append(RuleHit(name, "missing", "a finite number (got null/NaN)", nan))
    hits.append(RuleHit(name, "not_finite", "a finite number (got inf)", np.isinf(values)))
    if name in NONNEG_COLUMNS:
        hits.append(RuleHit(name, "negative", ">= 0", values < 0))
    if name in INT_COLUMNS:
        frac = np.isfinite(values) & (values != np.round(values))
        hits.append(RuleHit(name, "type", "an integer count", frac))
    if name == "quality":
        hits.append(RuleHit(name, "range", "in [0, 1] or null", (values < 0) | (values > 1)))
    if name == "propensity":
        hits.append(RuleHit(name, "range", "in (0, 1] or null", (values <= 0) | (values > 1)))
    return hits


def text_rules(name: str, s: pd.Series, nullable: bool) -> list[RuleHit]:
    """Type, null and empty-string rules of a text column."""
    is_text = _is_text(s)
    null = s.isna().to_numpy(dtype=bool)
    hits = [RuleHit(name, "type", "a string", ~is_text)]
    if not nullable:
        hits.append(RuleHit(name, "missing", "a value (got null)", null))
    if name in TEXT_COLUMNS:
        stripped = s.where(is_text & ~null).astype("string").str.strip()
        hits.append(
            RuleHit(
                name,
                "empty",
                "a non-empty string",
                (stripped == "").to_numpy(dtype=bool, na_value=False),
            )
        )
    if name in ENUMS:
        allowed = ENUMS[name]
        bad = ~s.isin(allowed).to_numpy(dtype=bool) & ~null
        hits.append(RuleHit(name, "value", " / ".join(allowed), bad))
    return hits


def timestamp_rules(s: pd.Series) -> list[RuleHit]:
    """Null and parse rules of the timestamp column (ISO 8601 text or datetime)."""
    null = s.isna().to_numpy(dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        bad = np.zeros(len(s), dtype=bool)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        bad = ~null
    else:
        parsed = pd.to_datetime(s.astype("string"), utc=True, format="ISO8601", errors="coerce")
        bad = parsed.isna().to_numpy(dtype=bool) & ~null
    return [
        RuleHit("timestamp", "missing", "a UTC timestamp (got null)", null),
        RuleHit("timestamp", "unparsable", "an ISO 8601 timestamp", bad),
    ]


def meta_rules(s: pd.Series) -> list[RuleHit]:
    """meta must be null or JSON object text; json.loads runs once per distinct value."""
    null = s.isna().to_numpy(dtype=bool)
    text = s.where(~null).astype("string").str.strip()
    shaped = (text.str.startswith("{") & text.str.endswith("}")).to_numpy(
        dtype=bool, na_value=False
    )
    candidates = pd.unique(text[shaped].to_numpy())
    ok: set[str] = set()
    for value in candidates:
        try:
            if isinstance(json.loads(value), dict):
                ok.add(value)
        except (json.JSONDecodeError, TypeError):
            pass
    good = shaped & text.isin(list(ok)).to_numpy(dtype=bool, na_value=False)
    return [RuleHit("meta", "json", "a JSON object or null", ~null & ~good)]


def cross_rules(df: pd.DataFrame) -> list[RuleHit]:
    """Rules across columns: duplicate (request_id, model); bandit rows need a propensity."""
    hits = []
    if {"request_id", "model"} <= set(df.columns):
        dup = df.duplicated(["request_id", "model"], keep="first").to_numpy(dtype=bool)
        hits.append(
            RuleHit(
                "request_id,model",
                "duplicate",
                "unique (request_id, model); first occurrence kept",
                dup,
            )
        )
    if {"source", "propensity"} <= set(df.columns):
        values, _ = numeric(df["propensity"])
        need = df["source"].isin(BANDIT_SOURCES).to_numpy(dtype=bool) & np.isnan(values)
        hits.append(
            RuleHit("propensity", "missing", "a propensity for gateway/simulated rows", need)
        )
    return hits
