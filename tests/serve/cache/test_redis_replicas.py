"""Two gateway replicas sharing one Redis store: what one stores the other serves (both
tiers), removals and expiry reach both, and tenants stay apart."""

from __future__ import annotations

import uuid

import pytest

from serve.cache.entry import StoredAnswer
from serve.cache.keys import prompt_key
from serve.cache.store import StoreLimits, make_store
from tests.serve.cache.conftest import CacheFactory, Clock

ANSWER = StoredAnswer("42", "stop", "m-up", 3, 1)


@pytest.fixture
def replicas(make_cache: CacheFactory, redis_url: str):  # -> (cache A, cache B)
    import serve.cache.store.redis  # noqa: F401

    ns = f"rep:{uuid.uuid4().hex}"
    def one():
        return make_cache(make_store("redis", StoreLimits(max_entries=100), url=redis_url,
                                     namespace=ns))
    return one(), one()


def test_what_one_replica_stores_the_other_serves(replicas) -> None:
    a, b = replicas
    a.put(prompt_key("the answer to life universe everything", "t"), ANSWER)
    r = b.lookup(prompt_key("the answer to life universe everything", "t"))
    assert r.hit and r.tier == "exact" and r.entry.answer == ANSWER
    r = b.lookup(prompt_key("everything universe life the answer to", "t"))
    assert r.hit and r.tier == "semantic"  # B's index learned A's vector from the stream
    assert not b.lookup(prompt_key("the answer to life universe everything", "u")).hit


def test_removal_and_expiry_reach_every_replica(replicas, clock: Clock) -> None:
    a, b = replicas
    a.put(prompt_key("first question here", "t"), ANSWER)
    a.put(prompt_key("second question here", "t"), ANSWER, ttl_s=5)
    assert b.lookup(prompt_key("here question first", "t")).hit
    assert b.invalidate_tenant("t") == 2
    assert not a.lookup(prompt_key("first question here", "t")).hit
    assert not a.lookup(prompt_key("here question first", "t")).hit
    a.put(prompt_key("third question here", "t"), ANSWER, ttl_s=5)
    clock.now += 6
    assert not b.lookup(prompt_key("third question here", "t")).hit
    assert not b.lookup(prompt_key("here question third", "t")).hit


def test_a_redis_that_lost_its_data_never_serves_another_tenant(replicas, redis_url) -> None:
    """Redis restarted empty: entry ids start at 1 again, while each replica's in-process
    index still maps the old ids to the old tenants' vectors. A reused id must not hand
    alice's paraphrase bob's answer (before: it did, on both replicas)."""
    import redis

    a, b = replicas
    a.put(prompt_key("what is my account pin code", "alice"),
          StoredAnswer("alice: 1234", "stop", "m-up", 3, 1))
    assert b.lookup(prompt_key("code pin account my is what", "alice")).hit  # b indexed it
    redis.Redis.from_url(redis_url).flushdb()  # the data loss
    a.put(prompt_key("what is my account pin code", "bob"),
          StoredAnswer("bob: 9876", "stop", "m-up", 3, 1))  # takes a reused id
    for cache in (a, b):
        r = cache.lookup(prompt_key("code pin account my is what", "alice"))
        assert not r.hit or r.entry.key.tenant == "alice", r.entry.answer
