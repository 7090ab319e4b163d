"""The request pipeline's built-in stages (one file each) and the factory that assembles
the configured pipeline (``factory.build_pipeline``)."""

from __future__ import annotations

from serve.pipeline import Pipeline


def default_pipeline() -> Pipeline:
    """admit -> pre-checks -> route -> budget -> call -> accounting -> log, as configured
    in conf/pipeline/default.yaml."""
    from serve.settings import ServeSettings
    from serve.stages.factory import build_pipeline

    return build_pipeline(ServeSettings())
