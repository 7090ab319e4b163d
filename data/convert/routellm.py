"""RouteLLM evaluation responses (lm-sys/RouteLLM, routellm/evals) -> canonical rows.

Files: ``mmlu_<subject>.csv`` (task ``mmlu_<subject>``) and ``gsm8k_responses.csv``
(task ``gsm8k``); two models each (``mistralai/Mixtral-8x7B-Instruct-v0.1``,
``gpt-4-1106-preview``), correctness True/False -> quality 1.0 / 0.0.

Contamination: prompts listed (``eval_prompt``) in ``<bench>_contaminated_prompts.jsonl``
(searched next to the CSV and in its parent folder, or passed as inputs) are EXCLUDED by
default, exactly as RouteLLM's own evaluation does; ``keep_contaminated=True`` keeps them.
The number excluded is reported.

Cost: there is no cost column. cost = prompt_tokens x price_in + completion_tokens x
price_out, prices from the serving profiles (published list prices). Token counts use the
all-MiniLM-L6-v2 tokenizer (an approximation of GPT-4's / Mixtral's tokenizers).
Completion tokens: GSM8K has the response text (counted). MMLU has none: ASSUMPTION of
``MMLU_COMPLETION_TOKENS`` = 1 token (RouteLLM's MMLU prompts end in "Answer:" and are
graded on the single answer letter).
"""

from __future__ import annotations

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
RELEASE_DATE = "2024-06-26"  # RouteLLM paper (arXiv 2406.18665); rows carry no time
MMLU_COMPLETION_TOKENS = 1
RESPONSE_SUFFIX = "_response"


class RouteLLMFormatError(ValueError):
    """The CSV does not look like a RouteLLM responses file."""


def _bench(path: Path) -> str:
    if path.name.startswith("mmlu_"):
        return "mmlu"
    if path.name.startswith("gsm8k"):
        return "gsm8k"
    raise RouteLLMFormatError(f"{path}: expected mmlu_<subject>.csv or gsm8k_responses.csv")


def contaminated_prompts(bench: str, csv_path: Path, extra: list[Path]) -> set[str] | None:
    """``eval_prompt`` strings of ``<bench>_contaminated_prompts.jsonl``; None if absent."""
    name = f"{bench}_contaminated_prompts.jsonl"
    for cand in [p for p in extra if p.name == name] + [
        csv_path.parent / name,
        csv_path.parent.parent / name,
    ]:
        if cand.is_file():
            return set(pd.read_json(cand, lines=True)["eval_prompt"].astype(str))
    return None


def _models(df: pd.DataFrame, path: Path) -> list[str]:
    models = [c for c in df.columns if c != "prompt" and not c.endswith(RESPONSE_SUFFIX)]
    if "prompt" not in df.columns or not models:
        raise RouteLLMFormatError(f"{path}: expected a 'prompt' column and model columns")
    return models


def convert_file(
    path: Path, contaminated: set[str] | None, keep_contaminated: bool
) -> tuple[pd.DataFrame, int]:
    """Long frame (before profiles) of one file, and the number of prompts excluded."""
    df = pd.read_csv(path)
    models, bench = _models(df, path), _bench(path)
    task = path.stem if bench == "mmlu" else "gsm8k"
    drop = (
        df["prompt"].isin(contaminated)
        if contaminated and not keep_contaminated
        else pd.Series(False, index=df.index)
    ).to_numpy()
    rows = np.flatnonzero(~drop)
    kept = df.iloc[rows]
    base = pd.DataFrame(
        {
            "request_id": f"routellm/{task}/" + pd.Series(rows).astype(str),
            "query": kept["prompt"].astype(str).to_numpy(),
            "task": task,
            "prompt_tokens": count_tokens(kept["prompt"].astype(str).tolist()),
            "meta": json_meta("routellm", path.name, rows),
        }
    )
    parts = []
    for m in models:
        if f"{m}{RESPONSE_SUFFIX}" in df.columns:
            texts = kept[f"{m}{RESPONSE_SUFFIX}"].fillna("").astype(str).tolist()
            completion = count_tokens(texts)
        else:
            completion = np.full(len(kept), MMLU_COMPLETION_TOKENS, dtype=np.int64)
        quality = kept[m].map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0})
        parts.append(
            base.assign(
                model=m, quality=quality.to_numpy(dtype=float), completion_tokens=completion
            )
        )
    return pd.concat(parts, ignore_index=True), int(drop.sum())


def convert(
    paths: list[Path], profiles: Profiles | None = None, keep_contaminated: bool = False
) -> ConvertResult:
    """Convert RouteLLM mmlu_*.csv / gsm8k_responses.csv files (or their folder)."""
    profiles = profiles_or_default(profiles)
    files = files_matching(paths, (".csv", ".jsonl"))
    extra = [f for f in files if f.suffix == ".jsonl"]
    frames, counts, excluded, notes = [], {}, 0, []
    for path in (f for f in files if f.suffix == ".csv"):
        bench = _bench(path)
        contaminated = contaminated_prompts(bench, path, extra)
        if contaminated is None and not keep_contaminated:
            notes.append(f"{path.name}: no {bench}_contaminated_prompts.jsonl found; none excluded")
        frame, n_drop = convert_file(path, contaminated, keep_contaminated)
        frames.append(frame)
        counts[file_label(path)] = len(frame)
        excluded += n_drop
    out = finish_benchmark(pd.concat(frames, ignore_index=True), profiles, RELEASE_DATE)
    skipped = (
        {} if keep_contaminated else {"contaminated prompts excluded (RouteLLM list)": excluded}
    )
    notes += [
        "cost_usd = tokens x published prices (conf/profiles); tokens: all-MiniLM-L6-v2",
        f"MMLU completion_tokens ASSUMED = {MMLU_COMPLETION_TOKENS} (no response text)",
    ]
    return ConvertResult(out, counts, skipped, notes)
