"""``lmroute/verified`` end to end: the official ``openai`` client against the gateway
serving a real exported router (trained in this run) and a real verifier artifact trained
for it, over the fake backend. Negative control: the same request, with the first model's
answer worded as a correct one, is one call; worded as a wrong one, two calls, and the
client gets the second answer. Streams to the profile are a 400 naming ``stream``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest

from data.io import read_frame
from data.synthetic import make_synthetic
from router_model.reward import RewardWeights
from router_model.runtime import Router
from serve.settings import settings_from_dict
from tests.router_model.test_verifier_artifact import BAD, GOOD, tiny_verifier
from tests.serve.conftest import backend, serve_gateway
from tests.serve.fakes import FakeControl

PROFILE = {"w_cost": 1000.0, "epsilon": 0.0}


@pytest.fixture(scope="module")
def setup(real_routers: tuple[Path, Path, list[str]], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Any]:
    """The router, a verifier trained for it, and a prompt whose first pick is not the
    model the router predicts best (so there is somewhere to escalate to)."""
    a_dir, _, models = real_routers
    router = Router.load(a_dir)
    synth = make_synthetic(300, models=len(models), seed=3)  # in the router's vocabulary
    frame = synth.frame() if callable(synth.frame) else synth.frame
    texts = [str(t) for t in frame["query"].unique()]
    vdir = tiny_verifier(tmp_path_factory.mktemp("vg") / "verifier", router.embed(texts),
                         models, router.manifest["onnx_sha256"], a_dir / "tokenizer.json",
                         router.max_tokens)
    for w_cost in (PROFILE["w_cost"], 1e4, 1e5, 1e2):
        for t in texts[:60]:
            d = router.route(t, RewardWeights(w_cost=w_cost), models)
            better = [m for m in models if d.quality[m] > d.quality[d.model]]
            if better:
                second = max(better, key=lambda m: d.utility[m])
                return {"router": router, "verifier": vdir, "models": models, "text": t,
                        "first": d.model, "second": second, "w_cost": w_cost}
    pytest.skip("the tiny router predicts its first pick best for every prompt")


def _settings(url: str, s: dict[str, Any], log_dir: Path) -> Any:
    prof = {**PROFILE, "w_cost": s["w_cost"]}
    return settings_from_dict({
        "backends": {f"b{i}": backend(url, f"up-{m}", [m]) for i, m in enumerate(s["models"])},
        "profiles": {"lmroute/auto": prof, "lmroute/verified": prof},
        "fallback_backend": None, "seed": 0,
        "verify": {"enabled": True, "before": "log",
                   "stage": {"_target_": "serve.stages.verify.VerifyStage",
                             "artifact": str(s["verifier"])}},
        "log": {"dir": str(log_dir), "flush_interval_s": 0.2}})


def _ask(url: str, text: str, model: str = "lmroute/verified") -> Any:
    c = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    return c.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}], max_tokens=16)


def test_accepts_one_call_rejects_two_and_logs_both(setup: dict[str, Any], fake_backend: Any,
                                                     control: FakeControl,
                                                     tmp_path: Path) -> None:
    first, second = f"up-{setup['first']}", f"up-{setup['second']}"
    with serve_gateway(_settings(fake_backend[1], setup, tmp_path / "logs"),
                       setup["router"]) as url:
        control.models[first].reply = f"{GOOD} 4"  # negative control: the verifier accepts
        r = _ask(url, setup["text"])
        assert r.headers["x-lmroute-verify"] == "accepted"
        assert [c["model"] for c in control.calls] == [first]
        control.reset()
        control.models[first].reply = f"{BAD} 4"
        control.models[second].reply = f"{GOOD} 4"
        r = _ask(url, setup["text"])
        assert [c["model"] for c in control.calls] == [first, second]
        assert r.headers["x-lmroute-verify"] == "escalated"
        assert r.headers["x-lmroute-served-model"] == setup["second"]
        assert r.parse().choices[0].message.content == f"{GOOD} 4"
        control.reset()
        r = _ask(url, setup["text"], "lmroute/auto")  # other profiles: never verified
        assert len(control.calls) == 1 and "x-lmroute-verify" not in r.headers
    rows = read_frame(tmp_path / "logs" / "requests").sort_values("timestamp")
    accepted, escalated = (json.loads(m)["stages"]["verify"] for m in rows["meta"][:2])
    assert accepted["outcome"] == "accepted" and len(accepted["calls"]) == 1
    assert escalated["outcome"] == "escalated"
    c1, c2 = escalated["calls"]
    assert (c1["model"], c2["model"]) == (setup["first"], setup["second"])
    assert c1["score"] < escalated["tau"] <= c2["score"]
    row = rows.iloc[1]
    assert row["model"] == setup["second"] and row["logging_policy"].endswith("/fallback")
    assert row["cost_usd"] == pytest.approx(c1["cost_usd"] + c2["cost_usd"])
    assert np.isclose(escalated["total_cost_usd"], row["cost_usd"])


def test_a_stream_to_the_verified_profile_is_a_400_naming_stream(
        setup: dict[str, Any], fake_backend: Any, control: FakeControl, tmp_path: Path) -> None:
    with serve_gateway(_settings(fake_backend[1], setup, tmp_path / "logs"),
                       setup["router"]) as url:
        c = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.BadRequestError) as ei:
            c.chat.completions.create(model="lmroute/verified", stream=True,
                                      messages=[{"role": "user", "content": setup["text"]}])
        body: Any = ei.value.body
        assert body["param"] == "stream" and body["code"] == "stream_not_supported"
        assert "non-streaming" in body["message"] and not control.calls
        models = [m.id for m in c.models.list().data]
        assert "lmroute/verified" in models
