"""Chaos: a gateway process in front of backends that fail, each a real server on
127.0.0.1 (tests/reliability/scripted.py below HTTP, the fake OpenAI server's scripted
faults above it). Every fault gets its own model served by two backends, the faulty one
first and a healthy replica, and all faults run at once.

For each fault: what the client sees (a 200 from the replica, plain and streamed, or,
for a stream that broke after it started, one SSE error event and [DONE]), what the
decision log records (the failure in meta.failures, the fallback in logging_policy,
meta.error for a broken stream, never a learnable row for a failed answer), and where
the cooldown ends (the faulty backend cooling down after ``cooldown_after`` failures,
the replica healthy, the faulty one no longer called). Invariant: zero client-visible 5xx
while an allowed backend is alive. The budget of the key used by every request ends with
nothing reserved and its spend equal to the logged costs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.io import read_frame
from data.schema import learnable_policy
from serve.keys import BUSY_TIMEOUT_S, KeyStore
from tests.reliability.procs import ADMIN_KEY, GatewayProc, backend, stub_settings
from tests.reliability.scripted import RawServer, down_port
from tests.serve.fakes import LEAKY_BODY, FakeControl, ThreadServer

RAW = ("blackhole", "garbage", "truncated", "reset", "not_completion")
HTTP_PRE = {"slow": {"hang_s": 3.0}, "http500": {"fail_always": True},
            "leaky500": {"fault": "leaky500"}, "html": {"fault": "html"}}
STREAM_PRE = {"garbage_sse": {"fault": "garbage_sse"}}
MID = {"cut": {"fault": "cut"}, "stall": {"fault": "stall"},
       "garbage_mid": {"fault": "garbage_mid"}}
FAULTS = ("down", *RAW, *HTTP_PRE, *STREAM_PRE, *MID)
FAULTY = {"timeout_s": 1.0, "connect_timeout_s": 1.0, "max_retries": 1, "cooldown_after": 2,
          "cooldown_s": 300.0}


def _plan(fault: str) -> list[str]:
    """The requests of one fault's scenario, in order."""
    return ["stream"] * 3 if fault in STREAM_PRE or fault in MID else ["plain", "stream",
                                                                        "plain"]


@pytest.fixture(scope="module")
def chaos(fake_server: tuple[FakeControl, ThreadServer], tmp_path_factory):
    control, srv = fake_server
    control.reset()
    work = tmp_path_factory.mktemp("chaos")
    fake_url = f"{srv.url}/v1"
    with ExitStack() as stack:
        raws = {m: stack.enter_context(RawServer(m)) for m in RAW}
        urls = {"down": f"http://127.0.0.1:{down_port()}/v1", **{m: r.url for m, r in
                                                                   raws.items()}}
        backends: dict[str, Any] = {"b-mid": backend(fake_url, "up-mid", ["m-mid"]),
                                    "b-cheap": backend(fake_url, "up-cheap", ["m-cheap"]),
                                    "strong-down": backend(urls["down"], "up-strong",
                                                           ["m-strong"], **FAULTY)}
        for f in FAULTS:
            backends[f] = backend(urls.get(f, fake_url), f"up-{f}", [f"m-{f}"], **FAULTY)
            backends[f"{f}-ok"] = backend(fake_url, f"up-{f}-ok", [f"m-{f}"])
        for f, b in {**HTTP_PRE, **STREAM_PRE, **MID}.items():
            for k, v in b.items():
                setattr(control.models[f"up-{f}"], k, v)
        db = work / "keys.sqlite"
        store = KeyStore(db)
        key = store.create_key("chaos", daily_budget_usd=5.0)
        settings = stub_settings(backends, work / "logs", fallback_backend=None,
                                 auth={"enabled": True, "db_path": str(db)})
        gw = stack.enter_context(GatewayProc(settings, work))
        yield gw, control, raws, key, store, work / "logs" / "requests"
        store.close()


def _ask(url: str, key: str, model: str, stream: bool) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}],
            "stream": stream}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {key}"}) as r:
        raw = r.read().decode()
    events = [e[6:] for e in raw.split("\n\n") if e.startswith("data: ")] if stream else []
    docs = [json.loads(e) for e in events if e != "[DONE]"]
    return {"status": r.status_code, "backend": r.headers.get("x-lmroute-backend"),
            "id": r.headers.get("x-request-id"), "raw": raw, "stream": stream,
            "done": bool(events) and events[-1] == "[DONE]",
            "errors": [d["error"] for d in docs if "error" in d],
            "text": "".join((d["choices"][0]["delta"].get("content") or "")
                            for d in docs if d.get("choices"))}


def _scenario(url: str, key: str, fault: str) -> list[dict[str, Any]]:
    return [_ask(url, key, f"m-{fault}", kind == "stream") for kind in _plan(fault)]


@pytest.fixture(scope="module")
def outcomes(chaos) -> dict[str, list[dict[str, Any]]]:
    gw, _, _, key, _, _ = chaos
    with ThreadPoolExecutor(len(FAULTS) + 1) as pool:
        futures = {f: pool.submit(_scenario, gw.url, key, f) for f in FAULTS}
        routed = pool.submit(lambda: [_ask(gw.url, key, "lmroute/auto", s)
                                      for s in (False, True, False)])
        out = {f: fu.result() for f, fu in futures.items()}
    out["routed"] = routed.result()
    return out


def _rows(path: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    for _ in range(100):
        try:
            df = read_frame(path)
            got = {r["request_id"]: r for r in df.to_dict("records")}
            if ids <= set(got):
                return got
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"log rows missing: {sorted(ids)[:5]}")


@pytest.mark.parametrize("fault", FAULTS)
def test_what_the_client_sees(outcomes, fault: str) -> None:
    res = outcomes[fault]
    assert [r["status"] for r in res] == [200] * len(res), [r["raw"][:200] for r in res]
    for i, r in enumerate(res):
        assert LEAKY_BODY[:20] not in r["raw"] and "127.0.0.1" not in r["raw"]
        broken_stream = fault in MID and i < 2
        assert r["backend"] == (fault if broken_stream else f"{fault}-ok"), (i, r)
        if r["stream"]:
            assert r["done"], r["raw"][-200:]
            assert len(r["errors"]) == (1 if broken_stream else 0), r["errors"]
        if broken_stream:
            assert r["errors"][0]["code"] == "backend_failed"
        elif r["stream"]:
            assert r["text"] == "w0 w1 w2 w3 w4"  # the replica's whole answer


def test_a_routed_request_falls_back_to_the_next_model(outcomes) -> None:
    for r in outcomes["routed"]:
        assert r["status"] == 200 and r["backend"] == "b-mid", r
        assert not r["errors"] and (not r["stream"] or r["done"])


def test_cooldowns_end_in_the_right_state(chaos, outcomes) -> None:
    gw, control, raws, _, _, _ = chaos
    ready = httpx.get(f"{gw.url}/health/ready", timeout=10,
                      headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["backends"]
    for f in FAULTS:
        assert ready[f]["cooling_down_s"] > 200, (f, ready[f])  # cooled down after 2 failures
        ok = ready[f"{f}-ok"]
        assert ok["cooling_down_s"] == 0 and ok["consecutive_failures"] == 0, (f, ok)
    assert ready["strong-down"]["cooling_down_s"] > 200
    assert ready["b-mid"]["consecutive_failures"] == 0
    # the faulty backend is not called once it cools down: 2 failed calls (each retried
    # once when it failed before the stream started), then nothing
    for f in (*HTTP_PRE, *STREAM_PRE):
        assert control.count(f"up-{f}") == 4, f
    for f in MID:
        assert control.count(f"up-{f}") == 2, f  # a stream is never retried once it began
    for m, srv in raws.items():
        assert srv.accepted == 4, m


def test_what_the_decision_log_records(chaos, outcomes) -> None:
    _, _, _, _, _, log_path = chaos
    all_res = [r for res in outcomes.values() for r in res]
    rows = _rows(log_path, {r["id"] for r in all_res})
    for fault, res in outcomes.items():
        for i, r in enumerate(res):
            row = rows[r["id"]]
            meta = json.loads(row["meta"])
            assert meta["status"] == 200 and meta["backend"] == r["backend"]
            if fault == "routed" and i < 2:  # m-strong's backend failed: next model
                assert row["logging_policy"].endswith("/fallback") and row["propensity"] == 1
                assert row["model"] == "m-mid" and meta["routed_model"] == "m-strong"
            elif fault == "routed":  # m-strong cooling down: not in the mask, m-mid routed
                assert row["logging_policy"] == "lmroute-router" and "failures" not in meta
                assert meta["routed_model"] == "m-mid"
            elif fault in MID and i < 2:  # the client got a 200 and then an error event
                assert meta["error"]["code"] == "backend_failed" and meta["failures"]
                assert not learnable_policy(row["logging_policy"])
            elif i < 2:  # failed over to the replica: the failure is in the log
                assert row["logging_policy"] == "explicit/fallback", (fault, i, meta)
                assert meta.get("failures") and "error" not in meta, (fault, i, meta)
            else:  # the faulty backend is cooling down: not in the chain at all
                assert row["logging_policy"] == "explicit" and "failures" not in meta


def test_budgets_end_settled(chaos, outcomes) -> None:
    """Every reservation of the key was settled: nothing left reserved, and what it spent
    is what the log says each request cost."""
    _, _, _, key, store, log_path = chaos
    ids = {r["id"] for res in outcomes.values() for r in res}
    rows = _rows(log_path, ids)
    key_id = key[4:16]
    deadline = time.monotonic() + 10
    while (spent := store.spent(key_id))[1] > 1e-12 and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = sum(rows[i]["cost_usd"] for i in ids)
    assert spent[1] == pytest.approx(0.0, abs=1e-12)
    assert spent[0] == pytest.approx(logged, rel=1e-6) and logged > 0


def test_when_every_backend_of_a_model_fails_the_client_gets_one_clear_502(chaos,
                                                                           outcomes) -> None:
    """The other side of the invariant: nothing allowed is alive (the faulty backend is
    cooling down, so not in the chain; its replica fails this request too)."""
    gw, control, _, key, _, _ = chaos
    control.models["up-http500-ok"].fail_next = 2  # the replica fails this once (2 tries)
    ready = httpx.get(f"{gw.url}/health/ready", timeout=10).json()["backends"]
    assert ready["http500"]["cooling_down_s"] > 0  # the faulty one is cooling down already
    r = _ask(gw.url, key, "m-http500", False)
    assert r["status"] == 502, r
    err = json.loads(r["raw"])["error"]
    assert err["code"] == "backend_failed" and "127.0.0.1" not in err["message"]
    assert "All 1 backend(s) failed" in err["message"] and "HTTP 500" in err["message"]


class Lock:
    """Another connection holding the key store's write lock (``BEGIN EXCLUSIVE``), as a
    backup tool or a long ``lmroute serve keys`` transaction would."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)

    def hold(self, seconds: float) -> threading.Thread:
        self.conn.execute("BEGIN EXCLUSIVE")
        t = threading.Thread(target=lambda: (time.sleep(seconds), self.conn.execute("COMMIT")))
        t.start()
        return t


def test_a_briefly_locked_key_store_delays_but_serves(chaos) -> None:
    """Locked for less than the busy timeout: budgeted requests wait and then succeed;
    the reservation is settled as usual."""
    gw, _, _, key, store, _ = chaos
    t = Lock(store.path).hold(1.5)
    r = _ask(gw.url, key, "m-mid", False)
    t.join()
    assert r["status"] == 200, r["raw"][:300]
    assert store.spent(key[4:16])[1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_a_key_store_locked_past_the_busy_timeout_is_a_503_not_a_500(chaos) -> None:
    """Locked longer than serve.keys.BUSY_TIMEOUT_S: the budgeted request fails closed with
    503 state_unavailable + Retry-After (it was a 500 internal_error); nothing stays
    reserved; once the lock is gone requests pass again."""
    gw, _, _, key, store, _ = chaos
    t = Lock(store.path).hold(BUSY_TIMEOUT_S + 2)
    with httpx.Client(timeout=60) as c:
        r = c.post(f"{gw.url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                   json={"model": "m-mid", "messages": [{"role": "user", "content": "x"}]})
    t.join()
    assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
    assert r.json()["error"]["code"] == "state_unavailable" and "sqlite" not in r.text
    assert store.spent(key[4:16])[1] == pytest.approx(0.0, abs=1e-12)
    assert _ask(gw.url, key, "m-mid", False)["status"] == 200


@pytest.mark.slow
def test_a_settlement_that_cannot_be_written_leaves_the_reservation(chaos) -> None:
    """The lock arrives after the reservation, before the settlement: the client still
    gets its answer; the reservation stays counted (spend is over-, never under-counted)
    and the log row is written."""
    gw, control, _, key, store, log_path = chaos
    control.models["up-mid"].delay_s = 1.0
    before = store.spent(key[4:16])
    result: dict[str, Any] = {}
    th = threading.Thread(target=lambda: result.update(_ask(gw.url, key, "m-mid", False)))
    th.start()
    time.sleep(0.5)  # reserved by now, the backend still answering
    t = Lock(store.path).hold(BUSY_TIMEOUT_S + 3)
    th.join()
    t.join()
    control.models["up-mid"].delay_s = 0.0
    assert result["status"] == 200
    spent, reserved = store.spent(key[4:16])
    assert reserved > before[1] and spent == pytest.approx(before[0])
    assert result["id"] in _rows(log_path, {result["id"]})
