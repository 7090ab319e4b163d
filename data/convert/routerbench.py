"""RouterBench (Martian, arXiv 2403.12031) zero-shot CSVs -> canonical rows.

One row per (request, model) whose correctness cell is filled. Empty correctness cells
are NOT graded outcomes: those (request, model) pairs are skipped and counted in
``ConvertResult.skipped`` (92 cells in arc_challenge_train.csv); nothing else is dropped.

- query: the ``prompt`` list literal, parsed with ``ast.literal_eval`` (never ``eval``)
  and joined with newlines;
- task: ``eval_name``; quality: the model's correctness column (0.0 / 1.0);
- cost_usd: ``<model>|total_cost`` (the benchmark's own figure);
- prompt_tokens / completion_tokens: all-MiniLM-L6-v2 token counts of the prompt and of
  ``<model>|model_response`` (an approximation of each model's own tokenizer);
- request_id: ``routerbench/<eval_name>/<sample_id>``; a sample_id that occurs more than
  once in a file (7 pairs in arc_challenge, different prompts) gets ``#<index column>``.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

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
RELEASE_DATE = "2024-03-18"  # RouterBench paper (arXiv 2403.12031); rows carry no time
FIXED = ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")


class RouterBenchFormatError(ValueError):
    """The CSV does not look like a RouterBench file."""


def model_columns(df: pd.DataFrame) -> list[str]:
    """The models of a RouterBench frame: columns with a matching ``|total_cost``."""
    return [c for c in df.columns if f"{c}|total_cost" in df.columns]


def _literal_text(cell: object) -> str:
    if not isinstance(cell, str):
        return ""
    value = ast.literal_eval(cell)
    return "\n".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _request_ids(df: pd.DataFrame) -> pd.Series:
    base = "routerbench/" + df["eval_name"].astype(str) + "/" + df["sample_id"].astype(str)
    dup = df["sample_id"].duplicated(keep=False)
    return base.where(~dup, base + "#" + df["row"].astype(str))


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    missing = [c for c in ("sample_id", "prompt", "eval_name") if c not in df.columns]
    if missing or not model_columns(df):
        raise RouterBenchFormatError(
            f"{path}: not a RouterBench file (missing {missing or 'any <model>|total_cost'})"
        )
    first = df.columns[0]
    df["row"] = df[first] if first.startswith("Unnamed") else range(len(df))
    return df


def convert_file(path: Path) -> tuple[pd.DataFrame, int]:
    """Long frame (before profiles) of one file and the number of empty cells skipped."""
    df = _read(path)
    queries = [_literal_text(p) for p in df["prompt"]]
    base = pd.DataFrame(
        {
            "request_id": _request_ids(df),
            "query": queries,
            "task": df["eval_name"].astype(str),
            "prompt_tokens": count_tokens(queries),
            "meta": json_meta("routerbench", path.name, df["row"].to_numpy()),
        }
    )
    parts, skipped = [], 0
    for m in model_columns(df):
        graded = df[m].notna().to_numpy()
        skipped += int((~graded).sum())
        responses = [_literal_text(r) for r in df.loc[graded, f"{m}|model_response"]]
        parts.append(
            base[graded].assign(
                model=m,
                quality=df.loc[graded, m].astype(float).to_numpy(),
                cost_usd=df.loc[graded, f"{m}|total_cost"].astype(float).to_numpy(),
                completion_tokens=count_tokens(responses),
            )
        )
    return pd.concat(parts, ignore_index=True), skipped


def convert(paths: list[Path], profiles: Profiles | None = None) -> ConvertResult:
    """Convert RouterBench CSV files (or directories of them)."""
    profiles = profiles_or_default(profiles)
    frames, counts, skipped = [], {}, 0
    for path in files_matching(paths, (".csv",)):
        frame, n_skip = convert_file(path)
        frames.append(frame)
        counts[file_label(path)] = len(frame)
        skipped += n_skip
        log.info("%s: %d rows, %d empty correctness cells skipped", path.name, len(frame), n_skip)
    out = finish_benchmark(pd.concat(frames, ignore_index=True), profiles, RELEASE_DATE)
    return ConvertResult(
        out,
        counts,
        {"empty correctness cell: (request, model) not graded": skipped},
        [
            "cost_usd is RouterBench's own total_cost; latency/energy modeled from profiles",
            "token counts: all-MiniLM-L6-v2 WordPiece (approximates each model's tokenizer)",
        ],
    )
