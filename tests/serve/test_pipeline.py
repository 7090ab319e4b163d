"""The request path is a pipeline of stages (docs/contracts.md, "Pipeline stages"): a
plug-in stage is added by config, may refuse, answer locally, add messages, filter the
answer (streamed or not) and keep its own state, without touching the other stages."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai
import pytest

from data.io import read_frame
from data.schema import learnable_policy
from serve.context import RequestContext
from serve.errors import GatewayError
from serve.filters import Chunk, filter_message, run_chunk, run_end
from serve.local import LocalAnswer
from serve.pipeline import Pipeline, Stage
from serve.settings import ServeSettings, settings_from_dict
from serve.stages.factory import build_pipeline
from tests.serve.conftest import base_settings
from tests.serve.stage_examples import ExampleStage, Shout

EXAMPLE = "tests.serve.stage_examples.ExampleStage"


class Recorder(Stage[Any]):
    """Appends (its name, the hook) to a shared list."""

    def __init__(self, name: str, calls: list[str], local: bool = False) -> None:
        self.name_, self.calls, self.local = name, calls, local

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.name_

    async def before(self, ctx: RequestContext, svc: Any) -> None:
        self.calls.append(f"{self.name}.before")
        if self.local:
            ctx.answer_locally(LocalAnswer("rec", "hi"))

    async def finish(self, ctx: RequestContext, svc: Any) -> None:
        self.calls.append(f"{self.name}.finish")


def _ctx() -> RequestContext:
    return RequestContext(request_id="r1", raw=b"{}", headers={})


def test_a_local_answer_skips_the_later_before_hooks_but_not_finish() -> None:
    calls: list[str] = []
    p = Pipeline([Recorder("a", calls), Recorder("b", calls, local=True), Recorder("c", calls)])
    svc = SimpleNamespace(in_flight=0)
    ctx = _ctx()
    asyncio.run(p.run(ctx, svc))
    asyncio.run(p.complete(ctx, svc))
    asyncio.run(p.complete(ctx, svc))  # once only
    assert calls == ["a.before", "b.before", "a.finish", "b.finish", "c.finish"]
    assert ctx.local is not None and svc.in_flight == 0


def test_finish_runs_for_a_refused_request_and_hooks_not_overridden_are_skipped() -> None:
    class Refuse(Stage[Any]):
        name = "refuse"

        async def before(self, ctx: RequestContext, svc: Any) -> None:
            raise GatewayError(400, "no", code="nope")

    class FinishOnly(Stage[Any]):
        name = "tail"

        def __init__(self) -> None:
            self.seen: list[int] = []

        async def finish(self, ctx: RequestContext, svc: Any) -> None:
            self.seen.append(ctx.status)

    tail = FinishOnly()
    p = Pipeline([Refuse(), tail])
    assert [s.name for s in p.before] == ["refuse"] and [s.name for s in p.finish] == ["tail"]
    ctx = _ctx()
    with pytest.raises(GatewayError):
        asyncio.run(p.run(ctx, SimpleNamespace(in_flight=0)))
    assert tail.seen == [400] and ctx.error is not None and ctx.error.code == "nope"


def test_filters_chain_and_run_on_whole_messages() -> None:
    ctx = _ctx()
    chunks = [Chunk({"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]})
              for t in ("ab", "cd")]
    f = [Shout("")]
    out = [c for ch in chunks for c in run_chunk(f, ctx, ch)] + run_end(f, ctx)
    assert "".join(c.content for c in out) == "ABCD"
    doc = {"choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "quiet"}}]}
    assert filter_message([Shout("")], ctx, doc) == "QUIET"
    assert doc["choices"][0]["message"]["content"] == "QUIET"


def test_stages_come_from_config_in_order_with_clear_errors() -> None:
    s = ServeSettings()
    assert build_pipeline(s).names == ["admit", "pre-checks", "route", "budget", "call",
                                       "accounting", "log"]
    s.pipeline.extra = [{"stage": {"_target_": EXAMPLE}, "before": "route"}]
    assert build_pipeline(s).names[:4] == ["admit", "pre-checks", "example", "route"]
    s.pipeline.extra = [{"stage": {"_target_": EXAMPLE}, "before": "nowhere"}]
    with pytest.raises(ValueError, match="no stage named 'nowhere'"):
        build_pipeline(s)
    s.pipeline.extra = [{"stage": {"_target_": "no.such.Stage"}}]
    with pytest.raises(ValueError, match=r"pipeline.extra\[0\].stage: cannot build"):
        build_pipeline(s)


def _settings(url: str, log_dir: Path, **stage_kw: Any) -> Any:
    raw = base_settings(url, log_dir)
    raw["pipeline"] = {"extra": [{"stage": {"_target_": EXAMPLE, **stage_kw},
                                  "before": "pre-checks"}]}
    return settings_from_dict(raw)


@pytest.fixture
def example_gateway(fake_backend, control, tmp_path: Path):
    from serve.app import create_app
    from tests.serve.conftest import COST, QUALITY
    from tests.serve.fakes import StubRouter, ThreadServer

    def make(**stage_kw: Any) -> tuple[str, Any]:
        app = create_app(_settings(fake_backend[1], tmp_path / "logs", **stage_kw),
                         router_obj=StubRouter(QUALITY, COST))
        srv = ThreadServer(app).__enter__()
        servers.append(srv)
        return srv.url, app

    servers: list[Any] = []
    yield make
    for srv in servers:
        srv.__exit__(None, None, None)


def _rows(log_dir: Path, n: int) -> Any:
    for _ in range(100):
        try:
            df = read_frame(log_dir / "requests")
            if len(df) >= n:
                return df
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} log rows")


def test_a_config_stage_refuses_answers_locally_and_filters_through_openai(
        example_gateway, control, tmp_path: Path) -> None:
    url, app = example_gateway()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": "ping"}]
    local = client.chat.completions.create(model="lmroute/auto", messages=msgs)
    assert local.choices[0].message.content == "pong" and control.calls == []
    stream = client.chat.completions.create(model="lmroute/auto", messages=msgs, stream=True,
                                            stream_options={"include_usage": True})
    parts = list(stream)
    assert "".join(p.choices[0].delta.content or "" for p in parts if p.choices) == "pong"
    assert parts[-1].usage is not None and control.calls == []
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="lmroute/auto",
                                       messages=[{"role": "user", "content": "forbidden x"}])
    assert ei.value.code == "content_blocked"
    shout = [{"role": "user", "content": "shout please"}]
    plain = client.chat.completions.create(model="lmroute/auto", messages=shout)
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="lmroute/auto", messages=shout, stream=True) if c.choices)
    assert plain.choices[0].message.content == streamed == "W0 W1 W2 W3 W4"
    df = _rows(tmp_path / "logs", 5)
    pol = list(df["logging_policy"])
    assert pol[:3] == ["local/example", "local/example", "rejected"]
    assert df["propensity"].iloc[0] is None or df["propensity"].isna().iloc[0]
    assert not any(learnable_policy(p) for p in pol[:3]) and learnable_policy(pol[3])
    meta = [json.loads(m) for m in df["meta"]]
    assert meta[0]["local"]["saved_cost_usd"] == 0.001 and meta[2]["stages"]["example"] == \
        {"blocked": True}
    stage = next(s for s in app.state.gateway.pipeline.stages if s.name == "example")
    assert stage.started == 1 and ("W0 W1 W2 W3 W4", True, 200) in stage.finished


def test_a_filter_can_stop_a_stream_with_one_error_event(example_gateway) -> None:
    url, _ = example_gateway(stopword="w3")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError) as ei:
        for _ in client.chat.completions.create(
                model="lmroute/auto", stream=True,
                messages=[{"role": "user", "content": "shout"}]):
            pass
    assert "output stopped" in str(ei.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="lmroute/auto",
                                       messages=[{"role": "user", "content": "shout"}])


def test_added_messages_reach_the_backend_and_the_budget_bound(example_gateway, control
                                                              ) -> None:
    from serve.stages.route import prompt_tokens_bound

    url, _ = example_gateway(system="s" * 5000)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    client.chat.completions.create(model="lmroute/auto",
                                   messages=[{"role": "user", "content": "hello"}])
    sent = control.calls[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "s" * 5000}
    ctx = _ctx()
    ctx.body = {"messages": [{"role": "user", "content": "hello"}]}
    before = prompt_tokens_bound(ctx)
    ctx.set_messages([{"role": "system", "content": "s" * 5000}, *ctx.body["messages"]])
    assert prompt_tokens_bound(ctx) >= before + 5000 and "s" * 5000 in ctx.text


def test_start_and_close_hooks_run_once_each() -> None:
    stage = ExampleStage()
    p = Pipeline([stage])
    asyncio.run(p.start(SimpleNamespace()))
    asyncio.run(p.close())
    assert (stage.started, stage.closed) == (1, 1)


def test_deferred_work_runs_once_and_a_failure_does_not_stop_the_rest(
        caplog: pytest.LogCaptureFixture) -> None:
    ctx = RequestContext(request_id="r-defer", raw=b"{}", headers={})
    done: list[str] = []

    def boom() -> None:
        raise RuntimeError("index insert failed")

    ctx.after_response += [lambda: done.append("a"), boom, lambda: done.append("b")]
    ctx.run_after_response()
    ctx.run_after_response()
    assert done == ["a", "b"]
    assert "r-defer: deferred work failed" in caplog.text
