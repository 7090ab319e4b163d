"""What an evaluation reports to the logger group's tracker (``train.tracking``): flattened
scalar metrics; the default store, SQLite beside the train run."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_BAD = re.compile(r"[^0-9A-Za-z_\-. /]")


def default_tracking_uri(router_dir: str, out_dir: str) -> str:
    """The train run's ``mlflow.db`` next to the router directory if present, else a new
    SQLite store in ``out_dir``."""
    for cand in (Path(router_dir).parent / "mlflow.db", Path(router_dir) / "mlflow.db"):
        if cand.is_file():
            return f"sqlite:///{cand.resolve()}"
    return f"sqlite:///{(Path(out_dir) / 'mlflow.db').resolve()}"


def flatten(m: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Scalar leaves of the metrics dict as (key, value); lists (curves, hulls) skipped."""
    for k, v in m.items():
        key = _BAD.sub("_", f"{prefix}{k}")
        if isinstance(v, dict):
            yield from flatten(v, key + ".")
        elif isinstance(v, bool) or (isinstance(v, int | float) and v == v):
            yield key, float(v)


def flat_metrics(m: dict[str, Any]) -> dict[str, float]:
    """The evaluation's scalar metrics as MLflow keys (``slices.`` for the per-slice ones)."""
    metrics = dict(flatten({k: v for k, v in m.items() if k != "slices"}))
    return metrics | dict(flatten(m.get("slices", {}), "slices."))
