"""The gateway's own decision logs -> the canonical bandit log the next router learns from.

Input: gateway log directories (``log.dir`` of ``lmroute serve``: ``requests/`` and
``feedback/`` with rotating Parquet or JSONL files), given as directories, globs, or a
directory holding several of them (one per replica). Request files are streamed through
Hugging Face ``datasets`` (``streaming=True``: logs larger than RAM are never loaded
whole); only the kept rows are held in memory.

Kept: rows the router itself decided (``data.schema.learnable_policy``), answered by the
model it chose, without an error, with a propensity in (0, 1], graded by feedback (the
latest score per request id wins; ``gateway_feedback``). Everything else is dropped and
counted per reason (``ConvertResult.skipped``), never silently. A value no gateway writes
(a propensity outside (0, 1], a row the canonical schema refuses) is an error naming the
file and row.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from data.convert.common import ConvertResult, file_label
from data.convert.gateway_feedback import Scores, read_scores
from data.profiles import Profiles
from data.schema import (
    COLUMN_NAMES,
    FALLBACK_SUFFIX,
    LOCAL_PREFIX,
    POLICY_EXPLICIT,
    POLICY_REJECTED,
)

log = logging.getLogger(__name__)
BATCH_ROWS = 65_536
SUFFIXES = (".parquet", ".jsonl")


def log_dirs(inputs: Sequence[str | Path]) -> list[Path]:
    """Gateway log directories named by ``inputs`` (dirs, globs, or parents of several)."""
    out: list[Path] = []
    for item in inputs:
        matches = [Path(m) for m in sorted(glob.glob(str(item)))] or [Path(item)]
        for p in matches:
            if (p / "requests").is_dir():
                out.append(p)
            elif p.is_dir() and (subs := sorted(d for d in p.iterdir()
                                                if (d / "requests").is_dir())):
                out += subs
            else:
                raise FileNotFoundError(f"{p}: not a gateway log directory (expected "
                                        "requests/ and feedback/ inside: the log.dir of "
                                        "lmroute serve)")
    return out


def _files(d: Path) -> list[Path]:
    return sorted(f for f in d.iterdir() if f.is_file() and f.suffix in SUFFIXES) \
        if d.is_dir() else []


def _batches(files: list[Path]) -> Iterator[tuple[Path, int, pd.DataFrame]]:
    """(file, first row number, rows) batches, streamed through ``datasets``."""
    import datasets

    datasets.disable_progress_bars()
    for f in files:
        kind = "parquet" if f.suffix == ".parquet" else "json"
        try:
            ds = datasets.load_dataset(kind, data_files=[str(f)], split="train",
                                       streaming=True)
            start = 0
            for batch in ds.iter(batch_size=BATCH_ROWS):
                df = pd.DataFrame(batch)
                yield f, start, df
                start += len(df)
        except (OSError, ValueError, datasets.exceptions.DatasetGenerationError) as exc:
            raise ValueError(f"{f}: not a readable gateway log file ({exc})") from exc


def _reason(policy: Any, meta: str | None, only_policy: str | None) -> str | None:
    """Why a request row is not a learnable routing decision (None: it is)."""
    p = policy if isinstance(policy, str) else ""
    if not p or p == POLICY_REJECTED:
        return "refused before any routing decision"
    if p == POLICY_EXPLICIT:
        return "explicit model (no routing decision)"
    if p.startswith(LOCAL_PREFIX):
        return f"answered without a backend ({p})"
    if p.endswith(FALLBACK_SUFFIX):
        return "answered by a fallback, not the routed model"
    if only_policy is not None and p != only_policy:
        return f"another logging policy ({p})"
    if isinstance(meta, str) and '"error"' in meta and _has_error(meta):
        return "failed or broken (meta.error)"
    return None


def _has_error(meta: str) -> bool:
    try:
        doc = orjson.loads(meta)
    except orjson.JSONDecodeError:
        return True  # the gateway writes JSON: an unreadable meta is not a clean sample
    return isinstance(doc, dict) and doc.get("error") is not None


def _keep(f: Path, start: int, df: pd.DataFrame, scores: Scores, seen: set[str],
          skipped: dict[str, int], require_feedback: bool, only_policy: str | None
          ) -> pd.DataFrame:
    keep = []
    cols: list[list[Any]] = [df[c].tolist() for c in
                             ("request_id", "logging_policy", "meta", "propensity")]
    for i, (rid, policy, meta, p) in enumerate(zip(*cols, strict=True)):
        why = _reason(policy, meta, only_policy)
        if why is None and (p is None or p != p):
            why = "no propensity"
        elif why is None and not 0.0 < float(p) <= 1.0:
            raise ValueError(f"{f}: row {start + i}: propensity: expected a value in (0, 1], "
                             f"got {p!r}")
        if why is None and rid in seen:
            why = "duplicate request id (kept the first)"
        q = scores.take(rid) if why is None else None
        if why is None and q is None and require_feedback:
            why = "ungraded (no feedback for its id)"
        if why is not None:
            skipped[why] = skipped.get(why, 0) + 1
            continue
        seen.add(rid)
        keep.append(i)
    out = df.iloc[keep].copy()
    out["quality"] = [scores.latest[r][1] if r in scores.latest else None
                      for r in out["request_id"]]
    return out


def convert(inputs: Sequence[Path], profiles: Profiles | None = None, *,
            require_feedback: bool = True, logging_policy: str | None = None) -> ConvertResult:
    """Read gateway logs; keep the learnable, graded routing decisions (see module doc).

    Args:
        inputs: gateway log directories, globs, or parents of several (replicas).
        profiles: unused (gateway rows carry measured latency and profile energy).
        require_feedback: drop rows without a feedback score (needed for training).
        logging_policy: keep only rows of this router policy name (None: any router).
    """
    dirs = log_dirs(inputs)
    scores = read_scores([f for d in dirs for f in _files(d / "feedback")])
    skipped: dict[str, int] = {}
    seen: set[str] = set()
    frames: list[pd.DataFrame] = []
    per_file: dict[str, int] = {}
    for d in dirs:
        files = _files(d / "requests")
        for f, start, df in _batches(files):
            missing = [c for c in COLUMN_NAMES if c not in df.columns]
            if missing:
                raise ValueError(f"{f}: missing column(s) {missing}: not a gateway log")
            kept = _keep(f, start, df, scores, seen, skipped, require_feedback, logging_policy)
            per_file[file_label(f)] = per_file.get(file_label(f), 0) + len(kept)
            frames.append(kept[list(COLUMN_NAMES)])
    if scores.superseded:
        skipped["feedback superseded by a later score for the same id"] = scores.superseded
    if scores.unknown:
        skipped["feedback for an id in no request log read"] = scores.unknown
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(COLUMN_NAMES))
    notes = [f"{len(dirs)} log dir(s), {scores.rows} feedback row(s); kept {len(frame)} "
             "learnable, graded routing decisions"]
    return ConvertResult(frame, per_file, skipped, notes)
