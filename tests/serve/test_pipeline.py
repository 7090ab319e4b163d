"""The request path is a pipeline of stages: a guardrail plugs in without touching the
gateway, and the finish stages (post-checks, log) still run for what it refuses."""

from __future__ import annotations

from typing import Any

from data.io import read_frame
from serve.app import create_app
from serve.context import RequestContext
from serve.errors import GatewayError
from serve.settings import settings_from_dict
from serve.stages import default_pipeline
from tests.serve.conftest import COST, QUALITY, base_settings
from tests.serve.fakes import HTTP, StubRouter, ThreadServer


class BlockWord:
    """A toy guardrail stage: refuses requests containing a word."""

    name = "guardrail"

    def __init__(self, word: str) -> None:
        self.word = word
        self.seen: list[str] = []

    async def __call__(self, ctx: RequestContext, gw: Any) -> None:
        self.seen.append(ctx.text)
        if self.word in ctx.text:
            raise GatewayError(400, f"blocked by guardrail: {self.word!r}",
                               code="content_blocked")


def test_stage_plugs_in_before_route(fake_backend, control, tmp_path) -> None:
    pipeline = default_pipeline()
    guard = BlockWord("forbidden")
    pipeline.insert_before("route", guard)
    assert [s.name for s in pipeline.before] == ["admit", "pre-checks", "guardrail", "route",
                                                 "budget", "call"]
    settings = settings_from_dict(base_settings(fake_backend[1], tmp_path / "logs"))
    app = create_app(settings, router_obj=StubRouter(QUALITY, COST), pipeline=pipeline)
    with ThreadServer(app) as srv:
        ok = HTTP.post(f"{srv.url}/v1/chat/completions", json={
            "model": "lmroute/auto", "messages": [{"role": "user", "content": "fine"}]})
        bad = HTTP.post(f"{srv.url}/v1/chat/completions", json={
            "model": "lmroute/auto", "messages": [{"role": "user", "content": "forbidden x"}]})
    assert ok.status_code == 200 and bad.status_code == 400
    assert bad.json()["error"]["code"] == "content_blocked"
    assert guard.seen == ["fine", "forbidden x"] and control.count("up-strong") == 1
    df = read_frame(tmp_path / "logs" / "requests")
    assert len(df) == 2 and "content_blocked" in df["meta"].iloc[1]

