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

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as c:
            rs = await asyncio.gather(*[
                c.post(f"{url}/v1/chat/completions", json=body,
                       headers={"authorization": f"Bearer {key}"}) for _ in range(40)])
        return [r.status_code for r in rs]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == N_ALLOWED and statuses.count(429) == 40 - N_ALLOWED
    r = HTTP.post(f"{url}/v1/chat/completions", json=body,
                  headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "budget_exceeded"
    store = KeyStore(db)
    spent, reserved = store.spent(key_id, utc_day())
    store.close()
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
