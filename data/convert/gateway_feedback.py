"""The feedback side of a gateway log: ``POST /v1/feedback`` scores, by request id.

Rules (docs/contracts.md, "Gateway logs"):
- several scores for one request id: the one with the latest ``timestamp`` wins (ties: the
  one read last); the others are counted as ``superseded``;
- a score for an id that is in no request log read with it (an id of another deployment,
  a typo) is never joined; it is counted as ``unknown id`` and reported;
- a score outside [0, 1] (or not a number) is an error naming the file and row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data.io import read_jsonl


@dataclass
class Scores:
    """Latest score per request id, with what was left out."""

    latest: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> (ts, q)
    rows: int = 0
    superseded: int = 0
    matched: set[str] = field(default_factory=set)

    def take(self, rid: str) -> float | None:
        hit = self.latest.get(rid)
        if hit is None:
            return None
        self.matched.add(rid)
        return hit[1]

    @property
    def unknown(self) -> int:
        return len(self.latest) - len(self.matched)


def _rows(path: Path) -> list[dict[str, object]]:
    if path.suffix == ".parquet":
        return pq.read_table(path, columns=["request_id", "timestamp", "quality"]).to_pylist()
    df = read_jsonl(path)
    return df[["request_id", "timestamp", "quality"]].to_dict("records")  # type: ignore[return-value]


def _epoch(ts: object, f: Path, i: int) -> float:
    try:
        return float(pd.Timestamp(ts).timestamp())  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{f}: row {i}: timestamp: expected a UTC time, got {ts!r}") from exc


def read_scores(files: list[Path]) -> Scores:
    """All feedback files (Parquet or JSONL, as the gateway writes them) -> ``Scores``."""
    out = Scores()
    for f in files:
        try:
            rows = _rows(f)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{f}: not a readable feedback file ({exc})") from exc
        for i, r in enumerate(rows):
            q, rid, ts = r.get("quality"), r.get("request_id"), r.get("timestamp")
            if not isinstance(rid, str) or not rid:
                raise ValueError(f"{f}: row {i}: request_id: expected a non-empty string")
            if not isinstance(q, int | float) or isinstance(q, bool) or math.isnan(q) \
                    or not 0.0 <= q <= 1.0:
                raise ValueError(f"{f}: row {i}: quality: expected a number in [0, 1], "
                                 f"got {q!r}")
            out.rows += 1
            t = _epoch(ts, f, i)
            old = out.latest.get(rid)
            if old is not None:
                out.superseded += 1
                if old[0] > t:
                    continue
            out.latest[rid] = (t, float(q))
    return out
