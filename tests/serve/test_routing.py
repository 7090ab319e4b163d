"""Hard rules before the learned choice, fallback by router utility, retries, cooldown."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from tests.serve.conftest import COST, QUALITY
from tests.serve.fakes import HTTP, FakeControl, StubRouter


def chat(url: str, model: str = "lmroute/auto", headers: dict[str, str] | None = None,
         text: str = "hello") -> httpx.Response:
    return HTTP.post(f"{url}/v1/chat/completions", headers=headers or {},
                      json={"model": model, "messages": [{"role": "user", "content": text}]})


def test_sensitive_requests_only_reach_edge_backends(gateway) -> None:
    r = chat(gateway(), headers={"x-lmroute-sensitive": "true"})
    assert r.status_code == 200
    assert r.headers["x-lmroute-model"] == "m-cheap"  # the only router model on an edge backend
    assert r.headers["x-lmroute-backend"] == "b-cheap"


def test_router_sees_only_the_allowed_mask(gateway) -> None:
    router = StubRouter(QUALITY, COST)
    url = gateway(router=router)
    chat(url, headers={"x-lmroute-sensitive": "1"})
    assert router.calls[-1]["allowed"] == ["m-cheap"]
    chat(url)
    assert router.calls[-1]["allowed"] == ["m-cheap", "m-mid", "m-strong"]


def test_context_length_masks_short_context_models(gateway) -> None:
    router = StubRouter(QUALITY, COST)
    url = gateway(router=router, backend_overrides={"b-strong": {"context_tokens": 1024}})
    assert chat(url, text="x" * 4 * 500).headers["x-lmroute-model"] == "m-strong"
    r = chat(url, text="x" * 4 * 2000)  # ~2000 tokens: too long for m-strong's 1024
    assert r.headers["x-lmroute-model"] == "m-mid"
    assert router.calls[-1]["allowed"] == ["m-cheap", "m-mid"]


def test_header_limits_and_weights_reach_the_router(gateway) -> None:
    router = StubRouter(QUALITY, COST)
    url = gateway(router=router)
    r = chat(url, headers={"x-lmroute-max-latency-ms": "250", "x-lmroute-max-cost-usd": "0.5",
                           "x-lmroute-weights": "w_cost=1000"})
    w = router.calls[-1]["weights"]
    assert (w.w_cost, w.max_latency_ms, w.max_cost_usd) == (1000.0, 250.0, 0.5)
    assert r.headers["x-lmroute-model"] == "m-cheap"
    chat(url, headers={"x-lmroute-tradeoff": "0.1"})  # 10% of the way to the cheap profile
    w = router.calls[-1]["weights"]
    assert w.w_cost == pytest.approx(100.0) and math.isinf(w.max_latency_ms)


def test_exploration_logs_exact_propensities(gateway) -> None:
    url = gateway(profiles={"lmroute/auto": {"epsilon": 0.6}})
    seen: dict[str, set[float]] = {}
    for _ in range(40):
        r = chat(url)
        seen.setdefault(r.headers["x-lmroute-model"], set()).add(
            float(r.headers["x-lmroute-propensity"]))
    assert {round(p, 6) for p in seen["m-strong"]} == {round(1 - 0.6 + 0.6 / 3, 6)}
    explored = {m: {round(x, 6) for x in p} for m, p in seen.items() if m != "m-strong"}
    assert explored and all(p == {0.2} for p in explored.values())


def test_fallback_to_next_model_by_utility(gateway, control: FakeControl) -> None:
    url = gateway()
    control.models["up-strong"].fail_always = True
    r = chat(url)
    assert r.status_code == 200
    assert r.headers["x-lmroute-model"] == "m-strong"  # the routed model ...
    assert r.headers["x-lmroute-served-model"] == "m-mid"  # ... and who answered (next best)
    assert r.headers["x-lmroute-backend"] == "b-mid"
    assert "fallback from m-strong@b-strong to m-mid@b-mid" in r.headers["x-lmroute-reason"]
    assert control.count("up-strong") == 2  # 1 try + 1 retry (max_retries=1)
    text = HTTP.get(f"{url}/metrics").text
    assert 'lmroute_fallbacks_total{from_model="m-strong",to_model="m-mid"} 1.0' in text


def test_retry_with_backoff_recovers_transient_failure(gateway, control: FakeControl) -> None:
    url = gateway()
    control.models["up-strong"].fail_next = 1
    r = chat(url)
    assert r.headers["x-lmroute-backend"] == "b-strong"
    assert control.count("up-strong") == 2


def test_cooldown_after_consecutive_failures_single_backend(gateway, control: FakeControl
                                                            ) -> None:
    # only one backend serves m-mid; cooldown_after=2 failed calls
    url = gateway(fallback_backend=None)
    control.models["up-mid"].fail_always = True
    assert chat(url, model="m-mid").status_code == 502
    assert chat(url, model="m-mid").status_code == 502
    calls = control.count("up-mid")
    r = chat(url, model="m-mid")  # cooling down: refused without calling the backend
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    assert control.count("up-mid") == calls
    ready = HTTP.get(f"{url}/health/ready").json()
    assert ready["backends"]["b-mid"]["cooling_down_s"] > 0
    # routed traffic skips the cooling-down model (masked out before the decision)
    control.models["up-strong"].fail_always = True
    assert chat(url, model="m-strong").status_code == 502
    assert chat(url, model="m-strong").status_code == 502
    r = chat(url)
    assert r.status_code == 200 and r.headers["x-lmroute-model"] == "m-cheap"


def test_cooldown_expires_half_open(gateway, control: FakeControl) -> None:
    url = gateway(fallback_backend=None, backend_overrides={"b-mid": {"cooldown_s": 0.3}})
    control.models["up-mid"].fail_next = 4  # two calls of (1 try + 1 retry)
    assert chat(url, model="m-mid").status_code == 502
    assert chat(url, model="m-mid").status_code == 502
    assert chat(url, model="m-mid").status_code == 503
    time.sleep(0.35)  # cooldown over: tried again, and it has recovered
    r = chat(url, model="m-mid")
    assert r.status_code == 200 and r.headers["x-lmroute-backend"] == "b-mid"


def test_timeout_counts_as_failure(gateway, control: FakeControl) -> None:
    url = gateway(backend_overrides={"b-strong": {"timeout_s": 0.2, "max_retries": 0}})
    control.models["up-strong"].hang_s = 1.0
    r = chat(url)
    assert r.status_code == 200 and r.headers["x-lmroute-served-model"] == "m-mid"


def test_key_allowed_models_and_fallback_edge(gateway, control: FakeControl, tmp_path) -> None:
    from serve.keys import KeyStore

    db = tmp_path / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("alice", ["m-cheap", "m-mid"])
    store.close()
    url = gateway(auth={"enabled": True, "db_path": str(db)})
    auth = {"authorization": f"Bearer {key}"}
    assert chat(url, headers=auth).headers["x-lmroute-model"] == "m-mid"
    assert chat(url, model="m-strong", headers=auth).status_code == 403
    assert chat(url).status_code == 401
    assert chat(url, headers={"authorization": "Bearer lmr-abc.def"}).status_code == 401
    assert chat(url, headers={"authorization": key[:-2] + "xx"}).status_code == 401


def test_no_live_router_model_falls_back_to_edge(gateway, control: FakeControl) -> None:
    router = StubRouter(QUALITY, COST)
    router.models.append("m-offline")  # a router model no backend serves
    router.quality["m-offline"], router.cost["m-offline"] = 0.99, 0.0
    url = gateway(router=router)
    for up in ("up-cheap", "up-mid", "up-strong"):
        control.models[up].fail_always = True
    for model in ("m-cheap", "m-mid", "m-strong"):  # put every served model in cooldown
        chat(url, model=model)
        chat(url, model=model)
    r = chat(url)
    assert r.status_code == 200
    assert r.headers["x-lmroute-model"] == "m-offline"
    assert r.headers["x-lmroute-backend"] == "edge"
    assert r.headers["x-lmroute-served-model"] == "edge-local"
    assert r.headers["x-lmroute-reason"].startswith("fallback: routed model m-offline")


def test_no_router_loaded_uses_fallback_backend(gateway) -> None:
    r = chat(gateway(router=None))
    assert r.status_code == 200 and r.headers["x-lmroute-backend"] == "edge"
    assert "no router loaded" in r.headers["x-lmroute-reason"]


def test_backend_with_unset_key_env_is_unavailable(gateway, control: FakeControl,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMROUTE_TEST_UNSET", raising=False)
    monkeypatch.setenv("LMROUTE_TEST_KEY", "sk-test-123")
    url = gateway(backend_overrides={"b-strong": {"api_key_env": "LMROUTE_TEST_UNSET"},
                                     "b-mid": {"api_key_env": "LMROUTE_TEST_KEY"}})
    ready = HTTP.get(f"{url}/health/ready").json()["backends"]["b-strong"]
    assert not ready["available"] and "LMROUTE_TEST_UNSET" in ready["reason"]
    r = chat(url)  # m-strong is masked out: the router picks among the others
    assert r.status_code == 200 and r.headers["x-lmroute-model"] == "m-mid"
    assert control.auth[-1] == "Bearer sk-test-123"  # the key goes to its backend only
    assert chat(url, model="m-strong").status_code == 503
