"""LLMRouter / DC-Router (ulab-uiuc/LLMRouter, data/dcrouter_preprocessed) -> canonical.

``dcrouter_train.json``: a list of ``{"question", "scores": {model: 0..1}, "cluster_id"}``.
One row per (item, model) with a score; task = ``str(cluster_id)``; request_id =
``llmrouter/<file stem>/<item index>``. ``llm_candidates.json`` (prices) is not a data
file: its prices reach the rows through the serving profiles (data.profile_derive).

Cost = tokens x the candidate's price per million tokens. There is no response text:
completion tokens are an ASSUMPTION, ``DEFAULT_COMPLETION_TOKENS`` per answer (override
with ``completion_tokens=``); prompt tokens are all-MiniLM-L6-v2 counts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from data.convert.common import (
    ConvertResult,
    file_label,
    files_matching,
    finish_benchmark,
    json_meta,
    profiles_or_default,
)
from data.profiles import Profiles
from data.tokens import count_tokens

log = logging.getLogger(__name__)
RELEASE_DATE = "2025-01-01"  # LLMRouter DC-Router preprocessed data; rows carry no time
DEFAULT_COMPLETION_TOKENS = 256  # ASSUMPTION: a short reasoning answer
CANDIDATES_FILE = "llm_candidates.json"


class LLMRouterFormatError(ValueError):
    """The JSON does not look like DC-Router data."""


def _load_items(path: Path) -> list[dict]:
    items = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        raise LLMRouterFormatError(f"{path}: expected a JSON list of items")
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not {"question", "scores"} <= it.keys():
            raise LLMRouterFormatError(
                f"{path}: item {i}: expected keys 'question' and 'scores' (and 'cluster_id')"
            )
    return items


def convert_file(path: Path, completion_tokens: int) -> tuple[pd.DataFrame, int]:
    """Long frame (before profiles) and number of (item, model) pairs without a score."""
    items = _load_items(path)
    wide = pd.DataFrame([it["scores"] for it in items])
    questions = [str(it["question"]) for it in items]
    base = pd.DataFrame(
        {
            "request_id": f"llmrouter/{path.stem}/" + pd.Series(np.arange(len(items))).astype(str),
            "query": questions,
            "task": [str(it.get("cluster_id", "")) for it in items],
            "prompt_tokens": count_tokens(questions),
            "meta": json_meta("llmrouter", path.name, np.arange(len(items))),
        }
    )
    long = base.join(wide).melt(id_vars=list(base.columns), var_name="model", value_name="quality")
    missing = int(long["quality"].isna().sum())
    long = long[long["quality"].notna()].assign(completion_tokens=completion_tokens)
    return long.astype({"quality": float}), missing


def convert(
    paths: list[Path],
    profiles: Profiles | None = None,
    completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
) -> ConvertResult:
    """Convert DC-Router JSON files (or their folder; llm_candidates.json is skipped)."""
    profiles = profiles_or_default(profiles)
    files = [f for f in files_matching(paths, (".json",)) if f.name != CANDIDATES_FILE]
    frames, counts, missing = [], {}, 0
    for path in files:
        frame, n_missing = convert_file(path, completion_tokens)
        frames.append(frame)
        counts[file_label(path)] = len(frame)
        missing += n_missing
    out = finish_benchmark(pd.concat(frames, ignore_index=True), profiles, RELEASE_DATE)
    return ConvertResult(
        out,
        counts,
        {"(item, model) without a score": missing},
        [
            f"completion_tokens ASSUMED = {completion_tokens} per answer (no response text)",
            "cost_usd = tokens x llm_candidates.json prices; tokens: all-MiniLM-L6-v2",
        ],
    )
