"""The rate-limit stage in a served gateway, through the official ``openai`` client: the
burst is served with the rate-limit headers, the next call is a 429 the client raises as
``RateLimitError`` (with Retry-After), no backend call is made for it, and it is logged."""

from __future__ import annotations

import json
import time

import openai
import pytest

from data.io import read_frame

LIMIT = {"enabled": True, "before": "pre-checks",
         "stage": {"_target_": "serve.stages.rate_limit.RateLimitStage",
                   "requests_per_minute": 1, "burst": 3}}


def test_a_key_past_its_burst_gets_429_and_no_backend_call(gateway, control, tmp_path) -> None:
    url = gateway(rate_limit=LIMIT)
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": "hello"}]
    for left in (2, 1, 0):
        raw = client.chat.completions.with_raw_response.create(model="m-cheap", messages=msgs)
        assert raw.headers["x-ratelimit-remaining-requests"] == str(left)
        assert raw.headers["x-ratelimit-limit-requests"] == "1"
    calls = len(control.calls)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="m-cheap", messages=msgs)
    assert e.value.code == "rate_limit_exceeded"
    assert int(e.value.response.headers["retry-after"]) >= 59  # 1 per minute, rounded up
    assert len(control.calls) == calls  # refused before any backend call
    for _ in range(50):
        try:
            df = read_frame(tmp_path / "logs" / "requests")
            if len(df) >= 4:
                break
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    meta = json.loads(df["meta"].iloc[-1])
    assert meta["status"] == 429 and meta["stages"]["rate-limit"]["refused"] is True
