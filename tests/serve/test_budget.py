"""Daily USD budgets: atomic reservations, concurrent spending at the limit, 429 past it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from serve.keys import KeyStore, utc_day
from tests.serve.fakes import HTTP

N_ALLOWED = 7
# b-mid: $2 per Mtok out, $0 in; every request asks max_tokens=5 and the fake answers
# exactly 5 tokens -> each request costs (and reserves) exactly 5 * 2 / 1e6 USD
PER_REQUEST = 5 * 2.0 / 1e6


@pytest.fixture
def budget_key(tmp_path: Path) -> tuple[Path, str, str]:
    db = tmp_path / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("team", daily_budget_usd=N_ALLOWED * PER_REQUEST)
    store.close()
    return db, key, key[4:].split(".")[0]


def test_concurrent_spending_stops_exactly_at_the_budget(gateway, budget_key) -> None:
    db, key, key_id = budget_key
    url = gateway(auth={"enabled": True, "db_path": str(db)},
                  backend_overrides={"b-mid": {"price_in_per_mtok": 0.0}})
    body = {"model": "m-mid", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    statuses = _burst(url, key, body, 40)
    assert statuses.count(200) == N_ALLOWED and statuses.count(429) == 40 - N_ALLOWED
    r = HTTP.post(f"{url}/v1/chat/completions", json=body,
                  headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "budget_exceeded"
    spent, reserved = _spent(db, key_id)
    assert spent == pytest.approx(N_ALLOWED * PER_REQUEST) and reserved == pytest.approx(0)


def test_reserve_is_atomic_across_threads(tmp_path: Path) -> None:
    """Many threads, each with its own connection, race for the same budget."""
    db = tmp_path / "keys.sqlite"
    owner = KeyStore(db)
    key = owner.create_key("race", daily_budget_usd=10.0)
    record = owner.authenticate(key)
    assert record is not None
    wins: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        store = KeyStore(db)
        for _ in range(10):
            ok = store.reserve(record, 0.5, "2099-01-01")
            with lock:
                wins.append(ok)
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 20  # 10.0 / 0.5, out of 80 attempts
    assert owner.spent(record.key_id, "2099-01-01") == (0.0, pytest.approx(10.0))
    owner.close()


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("a", ["m-cheap"], 1.0)
    secret = key.split(".", 1)[1]
    store.close()
    on_disk = b"".join(f.read_bytes() for f in db.parent.glob("keys.sqlite*"))
    assert secret.encode() not in on_disk and b"lmr-" not in on_disk
    store = KeyStore(db)
    assert store.authenticate(key) is not None
    assert store.authenticate(key + "x") is None
    rec = store.authenticate(key)
    assert rec is not None and store.revoke(rec.key_id)
    assert store.authenticate(key) is None
    store.close()


def _burst(url: str, key: str, body: dict, n: int) -> list[int]:
    async def go() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as c:
            rs = await asyncio.gather(*[
                c.post(f"{url}/v1/chat/completions", json=body,
                       headers={"authorization": f"Bearer {key}"}) for _ in range(n)])
        return [r.status_code for r in rs]
    return asyncio.run(go())


def _spent(db: Path, key_id: str) -> tuple[float, float]:
    store = KeyStore(db)
    try:
        return store.spent(key_id, utc_day())
    finally:
        store.close()


def test_a_long_prompt_cannot_overshoot_the_budget(gateway, control, tmp_path: Path) -> None:
    """The fake bills one token per word: "x " * 400 is 400 prompt tokens, which the
    chars/4 estimate (204) under-counts; the reservation uses the byte bound (816)."""
    db = tmp_path / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("long", daily_budget_usd=1000e-6)  # 1,000 prompt tokens
    store.close()
    url = gateway(auth={"enabled": True, "db_path": str(db)}, backend_overrides={
        "b-mid": {"price_in_per_mtok": 1.0, "price_out_per_mtok": 0.0}})
    control.models["up-mid"].delay_s = 0.3  # the burst's requests overlap
    body = {"model": "m-mid", "max_tokens": 5,
            "messages": [{"role": "user", "content": "x " * 400}]}
    statuses = _burst(url, key, body, 8)
    spent, reserved = _spent(db, key[4:].split(".")[0])
    assert statuses.count(200) == 1 and reserved == pytest.approx(0)
    assert spent == pytest.approx(400e-6) and spent <= 1000e-6


def test_a_budgeted_request_without_max_tokens_is_bounded(gateway, control,
                                                          tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite"
    store = KeyStore(db)
    key = store.create_key("nomax", daily_budget_usd=N_ALLOWED * PER_REQUEST)
    store.close()
    url = gateway(auth={"enabled": True, "db_path": str(db)}, default_max_tokens=5,
                  backend_overrides={"b-mid": {"price_in_per_mtok": 0.0}})
    control.models["up-mid"].completion_tokens = 1000  # would run on without a limit
    body = {"model": "m-mid", "messages": [{"role": "user", "content": "x"}]}
    statuses = _burst(url, key, body, 20)
    assert statuses.count(200) == N_ALLOWED
    assert all(c["max_tokens"] == 5 for c in control.calls)
    spent, _ = _spent(db, key[4:].split(".")[0])
    assert spent == pytest.approx(N_ALLOWED * PER_REQUEST)
