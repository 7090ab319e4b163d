"""Experiment tracking: MLflow with an embedded SQLite store, or nothing.

Default store: ``sqlite:///<runs_dir>/mlflow.db`` with artifacts under
``<runs_dir>/mlartifacts``. A run logs the flattened config as params, per-epoch
training metrics, validation metrics, the artifact directory (ONNX + manifest +
tokenizer) and registers a model version pointing at it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Tracker(Protocol):
    """What the training pipeline reports to."""

    def log_params(self, params: dict[str, object]) -> None: ...
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...
    def log_artifact_dir(self, directory: Path) -> None: ...
    def log_files(self, files: list[Path]) -> None: ...
    def finish(self, ok: bool) -> None: ...


class NullTracker:
    """``logger=none``: tracking off (takes and ignores the logger group's fields)."""

    def __init__(self, **_group_fields: object) -> None:
        pass

    def log_params(self, params: dict[str, object]) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_artifact_dir(self, directory: Path) -> None:
        pass

    def log_files(self, files: list[Path]) -> None:
        pass

    def finish(self, ok: bool) -> None:
        pass


def default_tracking_uri(runs_dir: Path) -> str:
    """sqlite:///<abs runs_dir>/mlflow.db"""
    return f"sqlite:///{(runs_dir / 'mlflow.db').resolve()}"


class MlflowTracker:
    """One MLflow run; registers the exported artifact as a model version."""

    def __init__(self, tracking_uri: str, experiment: str, registered_model: str,
                 artifact_root: Path, run_name: str = "") -> None:
        import mlflow

        self._mlflow = mlflow
        mlflow.set_tracking_uri(tracking_uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            artifact_root.mkdir(parents=True, exist_ok=True)
            mlflow.create_experiment(experiment, artifact_location=artifact_root.resolve()
                                     .as_uri())
        mlflow.set_experiment(experiment)
        self.run = mlflow.start_run(run_name=run_name or None)
        self.registered_model = registered_model
        log.info("mlflow run %s in %s", self.run.info.run_id, tracking_uri)

    @classmethod
    def from_group(cls, runs_dir: str, run_name: str = "", tracking_uri: str = "",
                   experiment: str = "lmroute-train",
                   registered_model: str = "lmroute-router") -> MlflowTracker:
        """``logger=mlflow``: the store is ``tracking_uri``, or SQLite in ``runs_dir``;
        artifacts under ``<runs_dir>/mlartifacts``."""
        root = Path(runs_dir)
        root.mkdir(parents=True, exist_ok=True)
        return cls(tracking_uri or default_tracking_uri(root), experiment, registered_model,
                   root / "mlartifacts", run_name)

    def log_params(self, params: dict[str, object]) -> None:
        clean = {k: str(v)[:500] for k, v in params.items()}
        self._mlflow.log_params(clean)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        finite = {k: float(v) for k, v in metrics.items()
                  if isinstance(v, int | float) and v == v}
        self._mlflow.log_metrics(finite, step=step)

    def log_artifact_dir(self, directory: Path) -> None:
        """Log the artifact directory as ``router/`` and register a model version."""
        from mlflow import MlflowClient

        self._mlflow.log_artifacts(str(directory), artifact_path="router")
        client = MlflowClient()
        try:
            client.get_registered_model(self.registered_model)
        except self._mlflow.exceptions.MlflowException:
            client.create_registered_model(self.registered_model)
        source = f"{self.run.info.artifact_uri}/router"
        mv = client.create_model_version(self.registered_model, source, self.run.info.run_id)
        log.info("registered %s version %s", self.registered_model, mv.version)

    def log_files(self, files: list[Path]) -> None:
        for f in files:
            self._mlflow.log_artifact(str(f))

    def finish(self, ok: bool) -> None:
        self._mlflow.end_run(status="FINISHED" if ok else "FAILED")
