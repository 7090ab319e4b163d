"""The default request pipeline's stages."""

from __future__ import annotations

from serve.pipeline import Pipeline
from serve.stages.admit import Admit, PreChecks
from serve.stages.call import Call
from serve.stages.finish import Log, PostChecks
from serve.stages.route import Budget, RouteStage

__all__ = ["Admit", "Budget", "Call", "Log", "PostChecks", "PreChecks", "RouteStage",
           "default_pipeline"]


def default_pipeline() -> Pipeline:
    """admit -> pre-checks -> route -> budget -> call | post-checks -> log."""
    return Pipeline(before=[Admit(), PreChecks(), RouteStage(), Budget(), Call()],
                    finish=[PostChecks(), Log()])
