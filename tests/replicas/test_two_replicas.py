"""Two real ``lmroute serve`` replicas on one Redis and one PostgreSQL (`make test-replicas`).

Clients alternate between the replicas (a round-robin load balancer). Checked: concurrent
spending at the budget limit through both overshoots by nothing (and admits exactly what
fits); a rate-limited key gets exactly its burst through both; a cooldown caused through
one is honoured by the other; a revocation by the keys CLI applies on both at once; a hot
swap on one reaches the other, and every log row names the artifact that decided it; a
cache entry written through one hits through the other; a memory erasure through one is
verified through the other; killing one replica mid-traffic loses no log row beyond the
decision log's stated bound, duplicates none, and the gateway source reads every replica's
logs. The tests run in file order on one fleet (the kill is
last).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serve.bench.procs import ManagedProcess
from serve.net import free_port
from serve.state.pg_keys import PostgresKeyStore
from serve.state.redis_budgets import RedisBudgetStore
from tests.replicas.fleet import THROTTLED, Fleet, FleetConfig, admin, chat, read_rows
from tests.replicas.services import SERVERS, Postgres, Redis

pytestmark = SERVERS
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def routers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    from data.synthetic import make_synthetic
    from tests.artifacts import train_tiny_router

    synth = make_synthetic(200, models=4, seed=0)
    root = tmp_path_factory.mktemp("routers")
    a, _ = train_tiny_router(root / "a", synth, seed=0, epochs=3)
    b, _ = train_tiny_router(root / "b", synth, seed=1, epochs=3)
    return a, b, list(synth.models)


@pytest.fixture(scope="module")
def fleet(redis_server: Redis, pg_server: Postgres, routers: tuple[Path, Path, list[str]],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("fleet")
    port = free_port()
    backend = ManagedProcess("fake-backend", [sys.executable, "-m", "serve.bench.fast_backend",
                                              "--port", str(port)],
                             f"http://127.0.0.1:{port}/health", work / "backend.log")
    backend.start(30)
    ns = "f" + uuid.uuid4().hex[:9]
    cfg = FleetConfig(redis_server.url, pg_server.dsn, ns, routers[0], routers[2], work,
                      f"http://127.0.0.1:{port}/v1")
    fl = Fleet(cfg)
    try:
        fl.start(["r1", "r2"])
        yield fl
    finally:
        fl.stop()
        backend.stop()


@pytest.fixture(scope="module")
def keys(fleet: Fleet) -> PostgresKeyStore:
    return PostgresKeyStore(fleet.cfg.pg_dsn, fleet.cfg.namespace)


def _both(fleet: Fleet) -> list:
    return [fleet.replicas["r1"], fleet.replicas["r2"]]


def test_concurrent_spending_at_the_limit_overshoots_by_nothing(fleet: Fleet,
                                                                keys: PostgresKeyStore) -> None:
    """Each call costs exactly $0.01 (2 completion tokens at $5000/M, reserved as such), the
    key may spend $0.50 a day: exactly 50 of 120 concurrent calls through both replicas
    are served, the rest refused with 429, and Redis has spent exactly $0.50."""
    key = keys.create_key("spender", None, 0.5)
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            for j in range(15):
                r = _both(fleet)[(i + j) % 2]  # alternate: a round-robin balancer
                status = chat(c, r, key, content=f"spend {i}-{j}").status_code
                with lock:
                    results.append((r.name, status))

    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = [n for n, s in results if s == 200]
    assert sorted({s for _, s in results}) == [200, 429]
    assert len(ok) == 50 and len(results) == 120
    assert {"r1", "r2"} <= set(ok)  # both replicas spent from the one budget
    rec = keys.authenticate(key)
    assert rec is not None
    spent, reserved = RedisBudgetStore(fleet.cfg.redis_url, fleet.cfg.namespace).spent(rec.key_id)
    assert spent == pytest.approx(0.5, abs=1e-12) and reserved == 0.0


def test_a_cooldown_seen_by_one_replica_is_honoured_by_the_other(fleet: Fleet,
                                                                 keys: PostgresKeyStore) -> None:
    key = keys.create_key("cooler")
    r1, r2 = _both(fleet)
    with httpx.Client(timeout=30) as c:
        first = [chat(c, r1, key, model="m-dead").status_code for _ in range(2)]
        assert first == [502, 502]  # two failed calls: cooldown_after = 2
        t = time.perf_counter()
        while True:
            resp = chat(c, r2, key, model="m-dead")
            if resp.status_code == 503 or time.perf_counter() - t > 2.0:
                break
            time.sleep(0.01)
        assert resp.status_code == 503, resp.text  # r2 never called the dead backend itself
        assert resp.json()["error"]["code"] == "no_backend"
        assert int(resp.headers["retry-after"]) > 100
        state = admin(c, r2, "GET", "/health/ready").json()["backends"]["dead"]
        assert state["cooling_down_s"] > 100


def test_a_revocation_applies_on_every_replica_at_once(fleet: Fleet,
                                                       keys: PostgresKeyStore) -> None:
    key = keys.create_key("leaver")
    key_id = key.split(".")[0][4:]
    with httpx.Client(timeout=30) as c:
        assert [chat(c, r, key).status_code for r in _both(fleet)] == [200, 200]
        out = subprocess.run([sys.executable, "-m", "lmroute_cli", "serve", "keys", "--postgres",
                              fleet.cfg.pg_dsn, "--namespace", fleet.cfg.namespace, "revoke",
                              key_id], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert [chat(c, r, key).status_code for r in _both(fleet)] == [401, 401]


def test_a_hot_swap_reaches_every_replica(fleet: Fleet, keys: PostgresKeyStore,
                                          routers: tuple[Path, Path, list[str]]) -> None:
    key = keys.create_key("swapper")
    r1, r2 = _both(fleet)
    new_sha = json.loads((routers[1] / "manifest.json").read_text())["onnx_sha256"]
    with httpx.Client(timeout=60) as c:
        t = time.perf_counter()
        resp = admin(c, r1, "POST", "/admin/router", {"path": str(routers[1])})
        waited = time.perf_counter() - t
        body = resp.json()
        assert resp.status_code == 200 and body["swapped"], body
        fleet_view = body["fleet"]
        assert fleet_view["published"] and fleet_view["pending"] == []
        assert {fleet_view["replicas"][n]["artifact"] for n in ("r1", "r2")} == {new_sha}
        assert admin(c, r2, "GET", "/admin/router").json()["artifact"] == new_sha
        for r in (r1, r2):
            resp = chat(c, r, key, model="lmroute/auto", content="routed after the swap")
            assert resp.status_code == 200
        print(f"hot swap reached every replica {waited:.3f} s after the admin call began")


def test_a_rate_limit_is_one_bucket_for_both_replicas(fleet: Fleet,
                                                     keys: PostgresKeyStore) -> None:
    """The throttled key may send a burst of 30 (no refill within the test): of 80
    concurrent calls alternating between the replicas exactly 30 are served, the rest get
    429 rate_limit_exceeded with Retry-After; both replicas served some. (Each replica
    counting alone would serve 60.)"""
    key = keys.create_key(THROTTLED)
    results: list[tuple[str, int, str, str]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            for j in range(10):
                r = _both(fleet)[(i + j) % 2]
                resp = chat(c, r, key, content=f"rate {i}-{j}")
                code = resp.json()["error"]["code"] if resp.status_code != 200 else ""
                with lock:
                    results.append((r.name, resp.status_code, code,
                                    resp.headers.get("retry-after", "")))

    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = [n for n, s, _, _ in results if s == 200]
    refused = [(c, ra) for _, s, c, ra in results if s != 200]
    assert len(ok) == 30 and len(results) == 80
    assert {"r1", "r2"} <= set(ok)
    assert all(c == "rate_limit_exceeded" and int(ra) >= 1 for c, ra in refused)
    other = keys.create_key("not-throttled")
    with httpx.Client(timeout=30) as c:  # an unlimited key on the same replicas
        assert all(chat(c, r, other).status_code == 200 for r in _both(fleet) * 20)


def test_a_cache_entry_written_through_one_replica_hits_through_the_other(
        fleet: Fleet, keys: PostgresKeyStore) -> None:
    key = keys.create_key("cacher")
    r1, r2 = _both(fleet)
    question = f"What is the capital of France? {uuid.uuid4().hex[:6]}"
    with httpx.Client(timeout=30) as c:
        assert chat(c, r1, key, content=question).headers["x-lmroute-cache"] == "miss"
        t = time.perf_counter()
        while time.perf_counter() - t < 3.0:
            resp = chat(c, r2, key, content=question)
            if resp.headers.get("x-lmroute-cache") == "hit":
                break
            time.sleep(0.05)
        assert resp.status_code == 200 and resp.headers["x-lmroute-cache"] == "hit"
        other = chat(c, r2, key, content=question + " and Spain?")
        assert other.headers["x-lmroute-cache"] == "miss"  # control: another question


def test_a_memory_erasure_through_one_replica_is_verified_through_the_other(
        fleet: Fleet, keys: PostgresKeyStore) -> None:
    key = keys.create_key("rememberer")
    r1, r2 = _both(fleet)
    auth = {"authorization": f"Bearer {key}"}
    canary = "my locker code is CANARY-5521 tangerine"
    with httpx.Client(timeout=60) as c:
        if c.get(f"{r1.url}/v1/memory/sessions", headers=auth).status_code == 404:
            pytest.skip("the /v1/memory endpoints are not mounted by serve/app.py "
                        "(serve/stages/memory_http.py: memory_router)")
        sess = {"x-lmroute-session": "s-erase"}
        assert chat(c, r1, key, content=canary, headers=sess).status_code == 200
        assert chat(c, r2, key, content="what else?", headers=sess).status_code == 200
        state = c.get(f"{r2.url}/v1/memory/sessions/s-erase", headers=auth).json()
        ids = [m["id"] for m in state["messages"] if "CANARY-5521" in m["content"]]
        assert len(ids) == 1 and len(state["messages"]) == 4  # both turns, both replicas
        receipt = c.post(f"{r1.url}/v1/memory/sessions/s-erase/erase", headers=auth,
                         json={"message_ids": ids, "reason": "user request"}).json()
        assert receipt["verified_clean"] is True
        after = c.get(f"{r2.url}/v1/memory/sessions/s-erase", headers=auth).json()
        assert not any("CANARY-5521" in m["content"] for m in after["messages"])
        audit = c.get(f"{r2.url}/v1/memory/sessions/s-erase/audit", headers=auth).json()
        assert audit["verification"]["ok"] is True


def test_killing_a_replica_mid_traffic_loses_no_row_beyond_the_bound(
        fleet: Fleet, keys: PostgresKeyStore, routers: tuple[Path, Path, list[str]]) -> None:
    """The decision log's crash bound (serve/logsink.py): a SIGKILL loses at most the rows
    still buffered, those answered in the last ``flush_interval_s`` (plus one write)."""
    key = keys.create_key("traffic")
    r1, r2 = _both(fleet)
    answered: dict[str, tuple[str, float]] = {}  # request id -> (replica, answered at)
    stop, lock = threading.Event(), threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(timeout=5) as c:
            j = 0
            while not stop.is_set():
                r = (r1, r2)[(i + j) % 2]
                j += 1
                try:
                    resp = chat(c, r, key, content=f"traffic {i}-{j}")
                except httpx.HTTPError:
                    continue  # the killed replica: no answer, nothing to log
                if resp.status_code == 200:
                    with lock:
                        answered[resp.json()["id"]] = (r.name, time.monotonic())

    ts = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    time.sleep(3.0)
    killed_at = time.monotonic()
    r2.kill()
    time.sleep(1.5)
    stop.set()
    for t in ts:
        t.join()
    r1.proc.stop()  # graceful: flushes everything it buffered
    rows = read_rows(fleet.cfg.work / "logs")
    ids = [r["request_id"] for r in rows]
    assert len(ids) == len(set(ids))  # nothing duplicated
    lost = [rid for rid in answered if rid not in set(ids)]
    r2_answers = [rid for rid, (n, _) in answered.items() if n == "r2"]
    bound_s = fleet.cfg.flush_interval_s + 0.5  # one flush period + one write's time
    late = [rid for rid in lost if answered[rid][1] >= killed_at - bound_s]
    assert all(answered[rid][0] == "r2" for rid in lost)  # the graceful one lost nothing
    assert lost == late  # only rows of the last flush period before the kill
    assert len(r2_answers) > 50 and len(lost) < len(r2_answers)
    print(f"killed r2 after {len(r2_answers)} answers: {len(lost)} rows lost "
          f"(bound: those of the last {bound_s:.2f} s), 0 duplicated")
    # every row says which replica wrote it, in its meta and its file name
    assert {r["meta"].get("replica") for r in rows} == {"r1", "r2"}
    assert all(f"-{r['meta']['replica']}-" in r["file"] for r in rows)
    # rows name the artifact that decided them (the swap test routed with router b)
    new_sha = json.loads((routers[1] / "manifest.json").read_text())["onnx_sha256"]
    assert any(r["meta"].get("artifact") == new_sha for r in rows)
    # the training loop's gateway source reads every replica's directory
    from data.convert.gateway import log_dirs

    assert sorted(d.name for d in log_dirs([fleet.cfg.work / "logs"])) == ["r1", "r2"]
