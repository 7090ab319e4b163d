"""Log an evaluation to MLflow: flattened scalar metrics, parameters, and the report files
as artifacts. Embedded default store: SQLite beside the run."""

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


def log_run(
    m: dict[str, Any], files: list[Path], tracking_uri: str, experiment: str, params: dict[str, Any]
) -> str:
    """One MLflow run with the metrics and the files; returns the run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name="eval") as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        metrics = dict(flatten({k: v for k, v in m.items() if k != "slices"}))
        metrics |= dict(flatten(m.get("slices", {}), "slices."))
        mlflow.log_metrics(metrics)
        for f in files:
            mlflow.log_artifact(str(f))
        log.info("MLflow run %s in %s (%d metrics)", run.info.run_id, tracking_uri, len(metrics))
        return str(run.info.run_id)
