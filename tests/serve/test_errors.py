"""OpenAI-style errors with the right status; never a traceback to the client."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.serve.fakes import HTTP, FakeControl


def post(url: str, content: bytes | str, headers: dict[str, str] | None = None
         ) -> httpx.Response:
    return HTTP.post(f"{url}/v1/chat/completions", content=content,
                      headers={"content-type": "application/json", **(headers or {})})


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["type"]
    assert "Traceback" not in r.text
    return err


@pytest.mark.parametrize(("body", "code", "param"), [
    (b"{not json", "invalid_json", None),
    (b"", "invalid_json", None),
    (b"[1, 2]", "invalid_json", None),
    (b'{"messages": [{"role": "user", "content": "x"}]}', "missing_required_parameter", "model"),
    (b'{"model": "lmroute/auto"}', "missing_required_parameter", "messages"),
    (b'{"model": "lmroute/auto", "messages": []}', "missing_required_parameter", "messages"),
    (b'{"model": "lmroute/auto", "messages": [{"content": "x"}]}', "invalid_request",
     "messages[0]"),
    (b'{"model": "lmroute/auto", "messages": [{"role": "user", "content": "x"}],'
     b' "max_tokens": -3}', "invalid_request", "max_tokens"),
])
def test_bad_body_is_400(gateway, body: bytes, code: str, param: str | None) -> None:
    err = assert_error(post(gateway(), body), 400, code)
    assert err["param"] == param


def test_unknown_model_is_404(gateway) -> None:
    url = gateway()
    with pytest.raises(openai.NotFoundError) as ei:
        openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0).chat.completions.create(
            model="gpt-99", messages=[{"role": "user", "content": "hi"}])
    assert ei.value.code == "model_not_found"


def test_over_long_input_is_400(gateway) -> None:
    text = "word " * 20_000  # ~25k tokens by the chars/4 estimate > every context (4096)
    r = post(gateway(), httpx.Request("POST", "/", json={
        "model": "lmroute/auto", "messages": [{"role": "user", "content": text}]}).content)
    assert "4096" in assert_error(r, 400, "context_length_exceeded")["message"]


def test_bad_header_is_400(gateway) -> None:
    body = b'{"model": "lmroute/auto", "messages": [{"role": "user", "content": "x"}]}'
    url = gateway()
    assert_error(post(url, body, {"x-lmroute-max-latency-ms": "soon"}), 400, "invalid_request")
    assert_error(post(url, body, {"x-lmroute-weights": "w_cost=1,bogus=2"}), 400,
                 "invalid_request")
    assert_error(post(url, body, {"x-lmroute-tradeoff": "7"}), 400, "invalid_request")
    # weights so large that every allowed utility would sink below the mask's NEG_INF
    for spec, why in (("w_cost=1e36", "expected <= 1e+12"), ("w_latency=inf", "finite")):
        err = assert_error(post(url, body, {"x-lmroute-weights": spec}), 400, "invalid_request")
        assert why in err["message"]


def test_body_too_large_is_413(gateway) -> None:
    url = gateway(max_request_bytes=1000)
    assert_error(post(url, b"{" + b" " * 2000 + b"}"), 413, "request_too_large")


def test_no_backend_is_503(gateway, control: FakeControl) -> None:
    url = gateway(fallback_backend=None)
    # sensitive: only edge backends; the only edge router model's backend is b-cheap
    body = b'{"model": "m-strong", "messages": [{"role": "user", "content": "x"}]}'
    err = assert_error(post(url, body, {"x-lmroute-sensitive": "true"}), 503, "no_backend")
    assert "edge-only" in err["message"]


@pytest.mark.parametrize("http_client", ["fast", "aiohttp"])
def test_all_backends_failing_is_502_and_upstream_4xx_passes_through(
        gateway, control: FakeControl, http_client: str) -> None:
    url = gateway(backend_overrides={b: {"http_client": http_client}
                                     for b in ("b-mid", "b-cheap", "edge")})
    control.models["up-mid"].fail_always = True
    body = b'{"model": "m-mid", "messages": [{"role": "user", "content": "x"}]}'
    msg = assert_error(post(url, body), 502, "backend_failed")["message"]
    assert "HTTP 500" in msg and "boom" not in msg  # the upstream body stays in the log
    control.models["up-cheap"].reject_status = 400
    body = b'{"model": "m-cheap", "messages": [{"role": "user", "content": "x"}]}'
    err = assert_error(post(url, body), 400, "upstream_rejected")
    assert "rejects this" in err["message"]
    assert control.count("up-cheap") == 1  # a client error is not retried
    want = "lmroute-gateway" if http_client == "fast" else "aiohttp"
    assert control.agents and all(want in (a or "") for a in control.agents)


def test_unknown_path_is_openai_style_404(gateway) -> None:
    r = HTTP.get(f"{gateway()}/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_wrong_method_on_the_hot_route_is_openai_style_405(gateway) -> None:
    r = HTTP.get(f"{gateway()}/v1/chat/completions")  # a plain Starlette route
    assert r.status_code == 405, r.text
    assert r.json()["error"]["message"] and "Traceback" not in r.text
