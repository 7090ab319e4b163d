"""Every request, failed ones included, leaves one canonical logged tuple; feedback joins
on request_id; buffer bound and periodic flushes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from data.convert import convert
from data.io import read_frame, read_jsonl, to_table
from data.schema import SCHEMA
from data.validate import validate_frame
from serve.logsink import LogSink
from serve.settings import LogSettings, settings_from_dict
from tests.serve.conftest import COST, QUALITY, base_settings, serve_gateway
from tests.serve.fakes import HTTP, FakeControl, StubRouter

MSG: list[Any] = [{"role": "user", "content": "two words"}]


def drive(url: str, control: FakeControl) -> list[int]:
    """A mix of requests; returns their HTTP statuses."""
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    statuses = [200, 200]
    client.chat.completions.create(model="lmroute/auto", messages=MSG)
    list(client.chat.completions.create(model="lmroute/cheap", messages=MSG, stream=True))
    control.models["up-mid"].fail_always = True
    for body in ({"model": "m-mid", "messages": MSG}, {"model": "nope", "messages": MSG},
                 {"model": "lmroute/auto"}):
        statuses.append(HTTP.post(f"{url}/v1/chat/completions", json=body).status_code)
    return statuses


def test_every_request_logged_in_canonical_schema(fake_backend, control, tmp_path) -> None:
    log_dir = tmp_path / "logs"
    settings = settings_from_dict(base_settings(fake_backend[1], log_dir))
    with serve_gateway(settings, StubRouter(QUALITY, COST)) as url:
        statuses = drive(url, control)
    assert statuses == [200, 200, 502, 404, 400]
    df = read_frame(log_dir / "requests")
    assert len(df) == 5
    assert validate_frame(df).ok, [p.line() for p in validate_frame(df).problems]
    assert to_table(df).schema.equals(SCHEMA)
    meta = [json.loads(m) for m in df["meta"]]
    assert [m["status"] for m in meta] == statuses  # arrival order == completion order here
    ok = df.iloc[0]
    assert ok["model"] == "m-strong" and ok["propensity"] == 1.0 and ok["query"] == "two words"
    assert ok["source"] == "gateway" and ok["latency_source"] == "measured"
    assert ok["energy_source"] == "profile" and ok["latency_ms"] > 0
    # fake usage: prompt = 2 words, completion = 5 tokens; b-strong costs $10/$30 per Mtok
    assert (ok["prompt_tokens"], ok["completion_tokens"]) == (2, 5)
    assert ok["cost_usd"] == pytest.approx((2 * 10 + 5 * 30) / 1e6)
    assert ok["energy_j"] == pytest.approx(0.5 * 7)
    streamed = df.iloc[1]
    assert streamed["model"] == "m-cheap" and streamed["completion_tokens"] == 5
    assert meta[1]["stream"] and meta[1]["ttft_ms"] > 0
    assert "boom" in meta[2]["failures"][0] and "boom" not in meta[2]["error"]["message"]
    assert meta[2]["attempts"] == 2
    assert meta[3]["error"]["code"] == "model_not_found"
    assert df.iloc[4]["query"] == "<invalid request>"
    assert list(df["logging_policy"]) == ["lmroute-router", "lmroute-router", "explicit",
                                          "rejected", "rejected"]


def pd_isna(x: object) -> bool:
    return x is None or x != x


def test_jsonl_and_hashed_queries(fake_backend, control, tmp_path) -> None:
    log_dir = tmp_path / "logs"
    raw = base_settings(fake_backend[1], log_dir, log={"dir": str(log_dir), "format": "jsonl",
                                                       "query": "sha256"})
    with serve_gateway(settings_from_dict(raw), StubRouter(QUALITY, COST)) as url:
        HTTP.post(f"{url}/v1/chat/completions", json={"model": "lmroute/auto", "messages": MSG})
    files = list((log_dir / "requests").glob("*.jsonl"))
    assert len(files) == 1
    df = read_jsonl(files[0])
    assert validate_frame(df).ok
    assert df["query"][0] == "sha256:" + hashlib.sha256(b"two words").hexdigest()


def test_feedback_joins_on_request_id(fake_backend, control, tmp_path) -> None:
    log_dir = tmp_path / "logs"
    settings = settings_from_dict(base_settings(fake_backend[1], log_dir))
    with serve_gateway(settings, StubRouter(QUALITY, COST)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        ids = [client.chat.completions.create(model="lmroute/auto", messages=MSG).id
               for _ in range(3)]
        for rid, q in zip(ids[:2], (0.25, 1.0), strict=True):
            r = HTTP.post(f"{url}/v1/feedback", json={"request_id": rid, "quality": q})
            assert r.status_code == 200 and r.json()["recorded"]
        HTTP.post(f"{url}/v1/feedback", json={"request_id": ids[0], "quality": 0.75})  # update
        prefix = ids[0][len("chatcmpl-"):][:16]
        for rid, status in ((f"chatcmpl-{prefix}{10**6:08x}", 404), ("typo", 404),
                            (f"chatcmpl-{'0' * 16}00000001", 200)):  # another run's: kept
            r = HTTP.post(f"{url}/v1/feedback", json={"request_id": rid, "quality": 0.5})
            assert r.status_code == status, (rid, r.text)
            assert status == 200 or r.json()["error"]["code"] == "unknown_request_id"
            assert status == 404 or r.json()["known"] is False
        for bad in ({"request_id": ids[0], "quality": 1.5}, {"quality": 0.5},
                    {"request_id": ids[0], "quality": "good"}):
            r = HTTP.post(f"{url}/v1/feedback", json=bad)
            assert r.status_code == 400 and r.json()["error"]["param"] in ("quality",
                                                                           "request_id")
    res = convert("gateway", [log_dir], require_feedback=False)
    df = res.frame.set_index("request_id")
    assert df.loc[ids[0], "quality"] == 0.75 and df.loc[ids[1], "quality"] == 1.0
    assert pd_isna(df.loc[ids[2], "quality"])
    # the later score won; the other-run id is kept in the feedback log but joins nothing
    assert res.skipped == {"feedback superseded by a later score for the same id": 1,
                           "feedback for an id in no request log read": 1}
    graded = convert("gateway", [log_dir])
    assert len(graded.frame) == 2
    assert graded.skipped["ungraded (no feedback for its id)"] == 1


@pytest.mark.parametrize("chunks_read", [0, 1])
def test_client_leaving_a_stream_is_logged(fake_backend, control, tmp_path,
                                           chunks_read: int) -> None:
    """A client that disconnects before the first byte (0) or mid-stream (1) still leaves
    one row (status 499), and the gateway counts the request as finished."""
    log_dir = tmp_path / "logs"
    control.models["up-strong"].chunk_delay_s = 0.3
    settings = settings_from_dict(base_settings(fake_backend[1], log_dir))
    with serve_gateway(settings, StubRouter(QUALITY, COST)) as url:
        body = {"model": "lmroute/auto", "messages": MSG, "stream": True}
        with httpx.Client(timeout=10) as client, \
                client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            while chunks_read and next(lines).startswith("data:") is False:
                pass
        time.sleep(1.0)  # the gateway notices the disconnect at its next send
        ok = HTTP.post(f"{url}/v1/chat/completions", json={**body, "stream": False})
        assert ok.status_code == 200
    df = read_frame(log_dir / "requests")
    assert len(df) == 2
    gone = json.loads(df.iloc[0]["meta"])
    assert gone["status"] == 499 and gone["error"]["code"] == "client_disconnected"
    assert gone["stream"] and df.iloc[0]["model"] == "m-strong"
    assert json.loads(df.iloc[1]["meta"])["status"] == 200


def test_rows_reach_disk_within_the_flush_interval(fake_backend, control, tmp_path) -> None:
    log_dir = tmp_path / "logs"
    settings = settings_from_dict(base_settings(fake_backend[1], log_dir))  # flush 0.2 s
    with serve_gateway(settings, StubRouter(QUALITY, COST)) as url:
        HTTP.post(f"{url}/v1/chat/completions", json={"model": "lmroute/auto", "messages": MSG})
        deadline = time.monotonic() + 5
        while not list((log_dir / "requests").glob("*.parquet")):
            assert time.monotonic() < deadline, "row not flushed while serving"
            time.sleep(0.05)
    assert len(read_frame(log_dir / "requests")) == 1


def test_full_buffer_drops_and_counts(tmp_path: Path) -> None:
    settings = LogSettings(dir=str(tmp_path), flush_rows=100, max_buffer_rows=3)

    async def go() -> LogSink:
        sink = LogSink(settings, tmp_path / "requests", SCHEMA)
        for i in range(5):
            sink.append({"request_id": str(i)})
        return sink

    sink = asyncio.run(go())
    assert sink.rows_dropped == 2 and len(sink._buf) == 3
