"""Regression tests for the probe's findings (issue #11, items 1, 2, 6-9): each failed on
the gateway before its fix. The streaming items (3-5) are in test_stream_faults.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data.io import read_frame
from serve.keys import KeyStore
from tests.serve.fakes import HTTP, LEAKY_BODY, FakeControl
from tests.serve.test_errors import assert_error, post

CHAT = {"model": "lmroute/auto", "messages": [{"role": "user", "content": "hi"}]}


def nested(depth: int) -> dict:
    d: dict = {"a": 1}
    for _ in range(depth - 1):
        d = {"a": d}
    return d


@pytest.mark.parametrize("stream", [False, True])
def test_deeply_nested_json_is_a_400_not_a_500(gateway, stream: bool) -> None:
    url = gateway()
    r = post(url, json.dumps({**CHAT, "stream": stream, "metadata": nested(300)}))
    err = assert_error(r, 400, "invalid_json")
    assert err["param"] == "metadata" and "nested" in err["message"]
    ok = post(url, json.dumps({**CHAT, "metadata": nested(20)}))  # ordinary nesting passes
    assert ok.status_code == 200, ok.text


def test_feedback_rejects_deep_nesting_and_large_bodies(gateway) -> None:
    url = gateway()
    rid = post(url, json.dumps(CHAT)).json()["id"]
    r = HTTP.post(f"{url}/v1/feedback", json={"request_id": rid, "quality": 1.0,
                                              "comment": nested(300)})
    assert_error(r, 400, "invalid_json")
    big = HTTP.post(f"{url}/v1/feedback", json={"request_id": rid, "quality": 1.0,
                                                "comment": "x" * 200_000})
    assert_error(big, 413, "request_too_large")

    def chunked():  # no content-length: refused as soon as the limit is passed
        yield b'{"request_id": "' + rid.encode() + b'", "quality": 1, "comment": "'
        for _ in range(100):
            yield b"y" * 10_000
        yield b'"}'

    r = HTTP.post(f"{url}/v1/feedback", content=chunked(),
                  headers={"content-type": "application/json"})
    assert_error(r, 413, "request_too_large")
    assert HTTP.post(f"{url}/v1/feedback", json={"request_id": rid, "quality": 1.0,
                                                 "comment": "fine"}).status_code == 200


def test_chat_body_over_the_limit_is_refused_while_streaming_in(gateway) -> None:
    url = gateway(max_request_bytes=50_000)

    def chunked():
        yield b'{"model": "lmroute/auto", "messages": [{"role": "user", "content": "'
        for _ in range(200):
            yield b"z" * 10_000
        yield b'"}]}'

    r = HTTP.post(f"{url}/v1/chat/completions", content=chunked(),
                  headers={"content-type": "application/json"})
    assert_error(r, 413, "request_too_large")


def test_502_never_shows_upstream_bodies_or_addresses(gateway, control: FakeControl,
                                                      tmp_path: Path) -> None:
    control.models["up-strong"].fault = "leaky500"
    control.models["up-mid"].fault = "leaky500"
    control.models["up-cheap"].fault = "leaky500"
    url = gateway(fallback_backend=None, backend_overrides={"b-mid": {"base_url":
                                                                      "http://127.0.0.1:9/v1"}})
    r = post(url, json.dumps(CHAT))
    err = assert_error(r, 502, "backend_failed")
    for leak in ("SECRET", "Traceback", "127.0.0.1", ":9", "sk-live"):
        assert leak not in err["message"], err["message"]
    assert "HTTP 500" in err["message"] and "unreachable" in err["message"]
    HTTP.post(f"{url}/v1/feedback", json={"request_id": "x", "quality": 0})  # a flush tick
    meta = _last_meta(tmp_path, url)
    assert any(LEAKY_BODY[:40] in f for f in meta["failures"])  # the log keeps the detail


def _last_meta(tmp_path: Path, url: str) -> dict:
    import time

    for _ in range(50):
        try:
            df = read_frame(tmp_path / "logs" / "requests")
            if len(df):
                return json.loads(df["meta"].iloc[-1])
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("no log row")


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", "hot"), ("temperature", -5), ("top_p", 7), ("n", 0), ("stop", 5),
    ("tools", "string"), ("stream_options", "yes"), ("presence_penalty", 3),
    ("logprobs", "yes"), ("tool_choice", "sometimes"), ("seed", 1.5),
])
def test_openai_fields_are_validated(gateway, field: str, value: object) -> None:
    err = assert_error(post(gateway(), json.dumps({**CHAT, field: value})), 400,
                       "invalid_request")
    assert err["param"] == field and field in err["message"]


def test_message_roles_and_contents_are_validated(gateway) -> None:
    url = gateway()
    bad = {**CHAT, "messages": [{"role": "wizard", "content": "hi"}]}
    assert assert_error(post(url, json.dumps(bad)), 400, "invalid_request")["param"] == \
        "messages[0].role"
    bad = {**CHAT, "messages": [{"role": "user", "content": 5}]}
    assert assert_error(post(url, json.dumps(bad)), 400, "invalid_request")["param"] == \
        "messages[0].content"
    good = {**CHAT, "temperature": 0.2, "top_p": 0.9, "n": 1, "stop": ["\n"], "seed": 3,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
    assert post(url, json.dumps(good)).status_code == 200


def test_routing_headers_are_checked_for_concrete_models_too(gateway) -> None:
    url = gateway()
    body = json.dumps({**CHAT, "model": "m-mid"})
    r = post(url, body, {"x-lmroute-max-latency-ms": "-1"})
    assert assert_error(r, 400, "invalid_request")["param"] == "x-lmroute-max-latency-ms"
    r = post(url, body, {"x-lmroute-max-latency-ms": "500"})
    assert r.status_code == 200
    assert r.headers["x-lmroute-ignored-headers"] == "x-lmroute-max-latency-ms"
    assert "x-lmroute-ignored-headers" not in post(url, json.dumps(CHAT)).headers


@pytest.mark.parametrize("value", ["", ",", "w_cost=nan", "w_cost=inf"])
def test_empty_or_non_finite_weights_header_is_a_400(gateway, value: str) -> None:
    r = post(gateway(), json.dumps(CHAT), {"x-lmroute-weights": value})
    assert assert_error(r, 400, "invalid_request")["param"] == "x-lmroute-weights"


def test_revocation_applies_on_the_next_request(gateway, tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite"
    admin = KeyStore(db)
    key = admin.create_key("alice")
    url = gateway(auth={"enabled": True, "db_path": str(db)})
    auth = {"authorization": f"Bearer {key}"}
    assert post(url, json.dumps(CHAT), auth).status_code == 200
    other = KeyStore(db)  # `lmroute serve keys revoke` runs in another process
    assert other.revoke(key[4:16])
    other.close()
    assert_error(post(url, json.dumps(CHAT), auth), 401, "invalid_api_key")
    admin.close()


def test_invalid_keys_are_not_cached_and_their_logging_is_bounded(gateway, tmp_path: Path
                                                                  ) -> None:
    db = tmp_path / "keys.sqlite"
    KeyStore(db).create_key("alice")
    url = gateway(auth={"enabled": True, "db_path": str(db)},
                  log={"dir": str(tmp_path / "logs"), "flush_interval_s": 0.2,
                       "max_unauthenticated_per_s": 5.0})
    n = 200
    for i in range(n):
        tok = f"lmr-{i:012x}." + "s" * 60 if i % 2 else "lmr-zz." + "q" * 16_000
        assert post(url, json.dumps(CHAT), {"authorization": f"Bearer {tok}"}).status_code == 401
    store = KeyStore(db)
    for i in range(1000):  # the store itself: misses leave nothing behind
        assert store.authenticate(f"lmr-{i:012x}.secret") is None
    assert len(store._cache) == 0
    store.close()
    metrics = HTTP.get(f"{url}/metrics").text
    unlogged = next(float(line.split()[-1]) for line in metrics.splitlines()
                    if line.startswith("lmroute_unauthenticated_unlogged_total"))
    assert unlogged >= n - 60  # a 5/s bucket over the few seconds the requests took
    import time

    time.sleep(0.6)
    rows = len(read_frame(tmp_path / "logs" / "requests"))
    assert rows + unlogged == n
