"""The verify stage (profile ``lmroute/verified``) without a server: a real verifier
artifact (``tiny_verifier``: "certainly ..." answers pass, "not sure ..." fail), stand-in
backends and pool. Accepted -> one call; rejected -> one escalation to the best model by
utility among those predicted better, within the limits and the budget; both calls in
the log and the cost; streaming refused before routing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest

from router_model.decision import Decision
from router_model.reward import RewardWeights
from serve.backends.health import BackendHealth
from serve.backends.openai_http import BackendError, CallResult
from serve.context import RequestContext, Route
from serve.errors import GatewayError
from serve.metrics import GatewayMetrics
from serve.settings import settings_from_dict
from serve.stages.verify import VerifyGate, VerifyStage
from tests.router_model.test_verifier_artifact import BAD, GOOD, tiny_verifier
from tests.serve.conftest import base_settings

MODELS = ["m-cheap", "m-mid", "m-strong"]
QUALITY = {"m-cheap": 0.5, "m-mid": 0.7, "m-strong": 0.9}
UTILITY = {"m-cheap": 0.45, "m-mid": 0.6, "m-strong": 0.3}  # cost-weighted: mid beats strong
D = 8


def _doc(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


class FakeBackend:
    def __init__(self, name: str, price: float, reply: str = GOOD, fail: bool = False,
                 ttft_ms: float = 10.0) -> None:
        self.name, self.reply, self.fail, self.calls = name, reply, fail, 0
        self.price = price
        self.settings = SimpleNamespace(context_tokens=4096, ttft_ms=ttft_ms, tpot_ms=1.0,
                                        max_retries=0, cooldown_s=1.0, cooldown_after=3)
        self.health = BackendHealth(self.settings.cooldown_after, self.settings.cooldown_s)

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens + completion_tokens) * self.price

    def energy_j(self, prompt_tokens: int, completion_tokens: int) -> float:
        return 0.1 * (prompt_tokens + completion_tokens)

    def expected_latency_ms(self, completion_tokens: int) -> float:
        return self.settings.ttft_ms + self.settings.tpot_ms * completion_tokens

    async def complete(self, body: dict[str, Any]) -> CallResult:
        self.calls += 1
        if self.fail:
            raise BackendError(f"{self.name}: HTTP 500", status=500)
        return CallResult(_doc(f"{self.reply} 4"), 10, 5, 12.0, 1)


class FakePool:
    def __init__(self, backends: dict[str, FakeBackend]) -> None:
        self.backends = backends

    def live_for(self, model: str, edge_only: bool = False) -> list[FakeBackend]:
        return [self.backends[model]]

    def by_load(self, backends: list[FakeBackend]) -> list[FakeBackend]:
        return backends


class EmbedRouter:
    models = MODELS
    manifest: ClassVar[dict[str, str]] = {"onnx_sha256": "sha-r"}

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), D), dtype=np.float32)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    P = np.random.default_rng(2).normal(size=(600, D)).astype(np.float32)
    return tiny_verifier(tmp_path_factory.mktemp("vs") / "verifier", P, MODELS, "sha-r")


def services(backends: dict[str, FakeBackend], keys: Any = None) -> Any:
    raw = base_settings("http://127.0.0.1:9/v1", Path("/tmp/unused"))
    raw["profiles"]["lmroute/verified"] = {"w_cost": 5.0}
    async def run_sync(fn: Any, *args: Any) -> Any:
        return fn(*args)

    return SimpleNamespace(settings=settings_from_dict(raw), metrics=GatewayMetrics(),
                           pool=FakePool(backends), keys=keys, run_sync=run_sync)


def routed(first: str, answer: str, backends: dict[str, FakeBackend],
           weights: RewardWeights | None = None, artifact: str = "sha-r") -> RequestContext:
    """A context as ``call`` leaves it: ``first`` answered ``answer``."""
    body = {"model": "lmroute/verified", "messages": [{"role": "user", "content": "q?"}]}
    c = RequestContext(request_id="r1", raw=json.dumps(body).encode(), headers={})
    c.body, c.profile, c.text, c.router, c.artifact = body, "lmroute/verified", "q?", \
        EmbedRouter(), artifact
    c.weights, c.allowed, c.max_tokens = weights or RewardWeights(w_cost=5.0), MODELS, 16
    c.decision = Decision(first, MODELS.index(first), 1.0, 1.0, "argmax utility", UTILITY,
                          QUALITY)
    c.routed_model, c.propensity = first, 1.0
    c.chain = [Route(first, backends[first])]  # type: ignore[arg-type]
    c.answered, c.result = c.chain[0], CallResult(_doc(f"{answer} 4"), 10, 5, 12.0, 1)
    return c


def run(stage: VerifyStage, c: RequestContext, svc: Any, accounting_cost: float) -> None:
    asyncio.run(stage.start(svc))
    asyncio.run(stage.before(c, svc))
    c.cost_usd = accounting_cost  # what accounting prices: the answer returned
    asyncio.run(stage.finish(c, svc))


def _backends(**kw: Any) -> dict[str, FakeBackend]:
    b = {"m-cheap": FakeBackend("b-cheap", 1e-6), "m-mid": FakeBackend("b-mid", 1e-5),
         "m-strong": FakeBackend("b-strong", 1e-4)}
    for m, patch in kw.items():
        for k, v in patch.items():
            setattr(b[m], k, v)
    return b


def test_accepted_answer_is_one_call(artifact: Path) -> None:
    b = _backends()
    c, svc = routed("m-cheap", GOOD, b), services(b)
    run(VerifyStage(str(artifact)), c, svc, 15e-6)
    st = c.state["verify"]["log"]
    assert st["outcome"] == "accepted" and len(st["calls"]) == 1
    assert st["calls"][0]["score"] >= st["tau"]
    assert c.answered is c.chain[0] and sum(x.calls for x in b.values()) == 0
    assert c.cost_usd == 15e-6 and c.extra_headers["x-lmroute-verify"] == "accepted"


def test_rejected_answer_escalates_once_by_utility_and_pays_both(artifact: Path) -> None:
    b = _backends()
    c, svc = routed("m-cheap", BAD, b), services(b)
    svc.in_flight = 3  # busy gateway: the scores run on the workers (run_sync)
    run(VerifyStage(str(artifact)), c, svc, 15 * 1e-5)
    st = c.state["verify"]["log"]
    assert st["outcome"] == "escalated", st
    # m-mid and m-strong are predicted better; m-mid has the higher utility
    assert c.answered is not None and c.answered.model == "m-mid"
    assert [x.calls for x in b.values()] == [0, 1, 0]
    first, second = st["calls"]
    assert first["model"] == "m-cheap" and first["score"] < st["tau"]
    assert second["model"] == "m-mid" and second["score"] >= st["tau"]
    assert c.cost_usd == pytest.approx(15e-6 + 15e-5) == st["total_cost_usd"]
    assert c.prompt_tokens == 10 and c.completion_tokens == 5  # + accounting's (0 here)
    assert "verify: escalated" in c.reason


def test_the_limits_and_the_budget_stop_the_escalation(artifact: Path) -> None:
    b = _backends()
    # the first call cost 15e-6; m-mid's worst case alone is above what is left
    c = routed("m-cheap", BAD, b, RewardWeights(w_cost=5.0, max_cost_usd=2e-5))
    run(VerifyStage(str(artifact)), c, services(b), 15e-6)
    assert c.state["verify"]["outcome"] == "kept" and "limits" in c.state["verify"]["why"]
    c = routed("m-cheap", BAD, b, RewardWeights(w_cost=5.0, max_latency_ms=5.0))
    run(VerifyStage(str(artifact)), c, services(b), 15e-6)
    assert c.state["verify"]["outcome"] == "kept"
    keys = SimpleNamespace(reserve=lambda *a: False, settle=lambda *a: None)

    async def run_sync(fn: Any, *args: Any) -> Any:
        return fn(*args)

    keys.run = run_sync
    c = routed("m-cheap", BAD, b)
    c.key, c.budget_day = SimpleNamespace(key_id="k1"), "2026-12-02"  # type: ignore[assignment]
    run(VerifyStage(str(artifact)), c, services(b, keys), 15e-6)
    assert c.state["verify"]["outcome"] == "kept" and "budget" in c.state["verify"]["why"]
    assert sum(x.calls for x in b.values()) == 0 and c.cost_usd == 15e-6


def test_no_better_model_failed_second_call_and_foreign_router(artifact: Path) -> None:
    b = _backends()
    c = routed("m-strong", BAD, b)  # already the best predicted quality
    run(VerifyStage(str(artifact)), c, services(b), 1e-3)
    assert c.state["verify"]["outcome"] == "kept" and "predicted better" in c.state["verify"]["why"]
    b = _backends(**{"m-mid": {"fail": True}})
    c = routed("m-cheap", BAD, b)
    run(VerifyStage(str(artifact)), c, services(b), 15e-6)
    assert c.state["verify"]["outcome"] == "kept" and c.answered is c.chain[0]
    assert "failed" in c.state["verify"]["why"] and c.cost_usd == 15e-6
    b = _backends()
    c = routed("m-mid", BAD, b)  # m-mid answered after m-cheap failed: m-strong is next
    c.chain = [Route("m-cheap", b["m-cheap"]), c.chain[0]]  # type: ignore[arg-type]
    c.answered = c.chain[1]
    c.decision = Decision("m-cheap", 0, 1.0, 1.0, "argmax utility",
                          {**UTILITY, "m-cheap": 0.95}, {**QUALITY, "m-cheap": 0.95})
    run(VerifyStage(str(artifact)), c, services(b), 15e-5)
    assert c.answered is not None and c.answered.model == "m-strong"  # not the failed m-cheap
    assert b["m-cheap"].calls == 0
    c = routed("m-cheap", BAD, b, artifact="another-router")
    run(VerifyStage(str(artifact)), c, services(b), 15e-6)
    assert c.state["verify"]["outcome"] == "unverified"


def test_other_profiles_pass_untouched_and_streams_are_refused(artifact: Path) -> None:
    b = _backends()
    c = routed("m-cheap", BAD, b)
    c.profile = "lmroute/auto"
    run(VerifyStage(str(artifact)), c, services(b), 15e-6)
    assert "verify" not in c.state and c.answered is c.chain[0]
    c.profile, c.stream = "lmroute/verified", True
    with pytest.raises(GatewayError) as ei:
        asyncio.run(VerifyGate("lmroute/verified").before(c, services(b)))
    assert ei.value.status == 400 and ei.value.param == "stream"
    assert ei.value.code == "stream_not_supported"
    c.profile = "lmroute/auto"
    asyncio.run(VerifyGate("lmroute/verified").before(c, services(b)))  # not this profile


def test_bad_config_names_the_field(artifact: Path) -> None:
    with pytest.raises(ValueError, match="tau"):
        VerifyStage(str(artifact), tau=1.5)
    svc = services(_backends())
    with pytest.raises(ValueError, match=r"verify\.stage\.profile"):
        asyncio.run(VerifyStage(str(artifact), profile="lmroute/nope").start(svc))


def test_verify_on_composes_the_profile_and_both_stages() -> None:
    from serve.cli import build_settings
    from serve.stages.factory import build_pipeline
    from tests.serve.test_cli import compose_serve

    s = build_settings(compose_serve(["verify=on", "verify.stage.artifact=/nowhere"]))
    assert s.verify.enabled and "lmroute/verified" in s.profiles and "lmroute/auto" in s.profiles
    names = build_pipeline(s).names
    assert names.index("verify-gate") == names.index("route") - 1
    assert names[-2:] == ["verify", "log"] and names.index("verify") > names.index("accounting")
    off = build_settings(compose_serve([]))
    assert not off.verify.enabled and "lmroute/verified" not in off.profiles
    assert "verify" not in build_pipeline(off).names
