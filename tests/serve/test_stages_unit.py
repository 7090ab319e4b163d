"""The built-in stages, one at a time, without a server: each gets a small stand-in for
the services it uses (``serve.services.CoreServices``)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from data.schema import learnable_policy
from serve.context import RequestContext, Route
from serve.errors import GatewayError
from serve.keys import KeyRecord
from serve.local import LocalAnswer
from serve.metrics import GatewayMetrics
from serve.settings import settings_from_dict
from serve.stages.accounting import Accounting
from serve.stages.admit import Admit, PreChecks
from serve.stages.log import Log, build_row, logging_policy
from tests.serve.conftest import COST, QUALITY, base_settings
from tests.serve.fakes import StubRouter


class Pool:
    """The pool's query surface: every model live, 4k context (512 for edge-local)."""

    def __init__(self, models: list[str]) -> None:
        self.by_model = {m: [] for m in models}
        self.backends = {"edge": SimpleNamespace(settings=SimpleNamespace(serves=["edge-local"]))}

    def max_context(self, model: str) -> int:
        return 512 if model == "edge-local" else 4096

    def live_models(self, edge_only: bool = False) -> set[str]:
        return {"m-cheap"} if edge_only else set(self.by_model)


def services(**kw: Any) -> Any:
    settings = settings_from_dict(base_settings("http://127.0.0.1:9/v1", "/tmp/unused"))
    router = StubRouter(QUALITY, COST)
    rows: list[dict[str, Any]] = []
    svc = SimpleNamespace(
        settings=settings, metrics=GatewayMetrics(), keys=None, in_flight=0,
        pool=Pool(["m-cheap", "m-mid", "m-strong", "edge-local"]),
        profile_weights={n: p.weights() for n, p in settings.profiles.items()},
        router_slot=lambda: (router, "sha-a"), request_log=SimpleNamespace(append=rows.append),
        rows=rows, **kw)
    return svc


def ctx(body: dict[str, Any], headers: dict[str, str] | None = None) -> RequestContext:
    return RequestContext(request_id="r", raw=json.dumps(body).encode(), headers=headers or {})


MSG = [{"role": "user", "content": "hello there"}]


def test_admit_resolves_profiles_keeps_the_router_and_refuses_unknown_models() -> None:
    svc = services()
    c = ctx({"model": "lmroute/cheap", "messages": MSG})
    asyncio.run(Admit().before(c, svc))
    assert c.profile == "lmroute/cheap" and c.artifact == "sha-a" and c.text == "hello there"
    assert c.weights is not None and c.weights.w_cost == 1000.0
    with pytest.raises(GatewayError) as ei:
        asyncio.run(Admit().before(ctx({"model": "nope", "messages": MSG}), svc))
    assert ei.value.status == 404
    c = ctx({"model": "m-mid", "messages": MSG}, {"x-lmroute-max-cost-usd": "1"})
    asyncio.run(Admit().before(c, svc))
    assert c.profile is None and c.ignored_headers == ["x-lmroute-max-cost-usd"]


def test_pre_checks_build_the_mask_from_key_liveness_and_context() -> None:
    svc = services()
    c = ctx({"model": "lmroute/auto", "messages": MSG})
    asyncio.run(Admit().before(c, svc))
    c.key = KeyRecord("k", "alice", frozenset({"m-cheap", "m-mid"}), None)
    asyncio.run(PreChecks().before(c, svc))
    assert c.allowed == ["m-cheap", "m-mid"]
    c.sensitive = True
    asyncio.run(PreChecks().before(c, svc))
    assert c.allowed == ["m-cheap"]  # edge-only
    long = ctx({"model": "lmroute/auto", "messages": [{"role": "user", "content": "x " * 9000}]})
    asyncio.run(Admit().before(long, svc))
    with pytest.raises(GatewayError) as ei:
        asyncio.run(PreChecks().before(long, svc))
    assert ei.value.code == "context_length_exceeded"


def test_log_names_the_policy_the_artifact_and_what_stages_added() -> None:
    svc = services()
    c = ctx({"model": "lmroute/auto", "messages": MSG})
    asyncio.run(Admit().before(c, svc))
    assert logging_policy(c, "lmroute-router") == "rejected"  # no decision yet
    c.propensity, c.routed_model = 0.9, "m-strong"
    b = SimpleNamespace(name="b-strong")
    c.chain = [Route("m-strong", b), Route("m-mid", b)]  # type: ignore[arg-type]
    c.answered = c.chain[0]
    c.state["guard"] = {"log": {"verdict": "allow"}}
    row = build_row(c, svc)
    assert row["logging_policy"] == "lmroute-router" and learnable_policy(row["logging_policy"])
    meta = json.loads(row["meta"])
    assert meta["artifact"] == "sha-a" and meta["stages"] == {"guard": {"verdict": "allow"}}
    c.answered = c.chain[1]
    assert build_row(c, svc)["logging_policy"] == "lmroute-router/fallback"
    c.answered, c.local = None, LocalAnswer("cache", "hi", model="m-mid", saved_cost_usd=0.01)
    row = build_row(c, svc)
    assert row["logging_policy"] == "local/cache" and row["propensity"] is None
    assert json.loads(row["meta"])["local"]["saved_cost_usd"] == 0.01


def test_accounting_costs_a_local_answer_nothing_and_counts_it() -> None:
    svc = services()
    c = ctx({"model": "lmroute/auto", "messages": MSG})
    asyncio.run(Admit().before(c, svc))
    c.local = LocalAnswer("cache", "hi", model="m-mid")
    asyncio.run(Accounting().finish(c, svc))
    assert c.cost_usd == 0.0 and c.latency_ms > 0
    assert b'lmroute_requests_total{backend="-",model="m-mid",status="200"} 1.0' in \
        svc.metrics.render()
    asyncio.run(Log().finish(c, svc))
    assert svc.rows[0]["logging_policy"] == "local/cache"
