"""Build the request pipeline from the serve config: the core stages of
``pipeline.stages`` (conf/pipeline/default.yaml), then each enabled plug-in (the rate
limit, guard, memory, cache and verify groups, in ``PLUGIN_GROUPS`` order, then
``pipeline.extra``) inserted before the stage it names (with the stages it brings along,
``companions()``). Stages are built from ``_target_`` entries here, at the
service's composition root, and nowhere else; each gets plain keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hydra.utils import instantiate

from serve.pipeline import Pipeline, Stage
from serve.settings import PLUGIN_GROUPS, PipelineSettings, PluginSettings, ServeSettings

DEFAULT_YAML = Path(__file__).resolve().parents[2] / "conf" / "pipeline" / "default.yaml"


def build_stage(spec: dict[str, Any], where: str) -> Stage[Any]:
    """One stage from ``{_target_: dotted.Class, **kwargs}``; errors name ``where``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("_target_"), str):
        raise ValueError(f"{where}: expected a mapping with a '_target_' (a Stage class), "
                         f"got {spec!r}")
    try:
        stage = instantiate(spec, _convert_="all")
    except Exception as exc:  # hydra wraps import and argument errors
        raise ValueError(f"{where}: cannot build {spec['_target_']}: {exc}") from exc
    if not isinstance(stage, Stage):
        raise ValueError(f"{where}: {spec['_target_']} is not a serve.pipeline.Stage")
    return stage


def default_specs() -> PipelineSettings:
    """The core stages as configured in conf/pipeline/default.yaml (the one place the
    default order lives)."""
    raw = yaml.safe_load(DEFAULT_YAML.read_text())
    return PipelineSettings(stages=list(raw["stages"]), extra=list(raw.get("extra") or []))


def build_pipeline(settings: ServeSettings) -> Pipeline:
    """The pipeline the settings describe."""
    stages = settings.pipeline.stages or default_specs().stages
    pipeline = Pipeline([build_stage(s, f"pipeline.stages[{i}]")
                         for i, s in enumerate(stages)])
    plugins: list[tuple[str, PluginSettings]] = [
        (name, p) for name in PLUGIN_GROUPS if (p := getattr(settings, name)).enabled]
    plugins += [(f"pipeline.extra[{i}]", _plugin(e, f"pipeline.extra[{i}]"))
                for i, e in enumerate(settings.pipeline.extra)]
    for where, p in plugins:
        stage = build_stage(p.stage, f"{where}.stage")
        pipeline.insert_before(p.before, stage)
        for anchor, companion in _companions(stage):
            pipeline.insert_before(anchor, companion)
    return pipeline


def _companions(stage: Stage[Any]) -> list[tuple[str, Stage[Any]]]:
    """Stages a plug-in brings along, each before its own anchor (``companions()`` ->
    [(anchor, stage)]; e.g. the verify stage's streaming gate before ``route``)."""
    fn = getattr(stage, "companions", None)
    return list(fn()) if callable(fn) else []


def _plugin(entry: Any, where: str) -> PluginSettings:
    if not isinstance(entry, dict) or "stage" not in entry:
        raise ValueError(f"{where}: expected {{stage: {{_target_: ...}}, before: <stage>}}, "
                         f"got {entry!r}")
    return PluginSettings(enabled=True, stage=dict(entry["stage"]),
                          before=str(entry.get("before", "pre-checks")))
