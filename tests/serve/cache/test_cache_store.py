"""TTL, eviction, invalidation and tenant isolation, on the in-process and the Redis store."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from serve.cache.cache import SemanticCache
from serve.cache.entry import StoredAnswer
from serve.cache.keys import prompt_key
from serve.cache.store import StoreLimits, make_store
from serve.cache.store.base import EntryStore
from tests.serve.cache.conftest import CacheFactory, Clock

ANSWER = StoredAnswer("Paris.", "stop", "m-up", 5, 2)


@pytest.fixture(params=["memory", "redis"])
def store_factory(request: pytest.FixtureRequest) -> Callable[..., EntryStore]:
    if request.param == "memory":
        return lambda **kw: make_store("memory", StoreLimits(**kw))
    url = request.getfixturevalue("redis_url")
    import serve.cache.store.redis  # noqa: F401

    return lambda **kw: make_store("redis", StoreLimits(**kw), url=url,
                                   namespace=f"t:{uuid.uuid4().hex}")


@pytest.fixture
def cache(make_cache: CacheFactory, store_factory: Callable[..., EntryStore]) -> SemanticCache:
    return make_cache(store_factory(max_entries=1000))


def put(c: SemanticCache, text: str, tenant: str = "t1", **kw: object) -> None:
    c.put(prompt_key(text, tenant, kw.pop("model", "m")), ANSWER, **kw)  # type: ignore[arg-type]


def look(c: SemanticCache, text: str, tenant: str = "t1", model: str = "m"):  # -> Lookup
    return c.lookup(prompt_key(text, tenant, model))


def test_exact_then_semantic_then_miss(cache: SemanticCache) -> None:
    put(cache, "what is the capital of france")
    r = look(cache, "what is the  capital of france")
    assert r.hit and r.tier == "exact" and r.entry is not None and r.entry.answer == ANSWER
    r = look(cache, "capital of france what is the")  # same words: cosine 1 on the hash embedder
    assert r.hit and r.tier == "semantic" and r.similarity > 0.99
    assert not look(cache, "how do I bake sourdough bread").hit


def test_zero_cross_tenant_hits(cache: SemanticCache) -> None:
    texts = [f"question number {i} about topic {i % 7}" for i in range(40)]
    for t in texts:
        put(cache, t, tenant="alice")
    hits = 0
    for t in texts:  # identical texts, paraphrase-like reorderings, other model, tenant tricks
        for tenant in ("bob", "alice ", "Alice", "alice\x00", "alic", ""):
            if tenant == "":
                continue
            for q in (t, " ".join(reversed(t.split()))):
                hits += look(cache, q, tenant=tenant).hit
    assert hits == 0
    # the control: the same lookups as alice do hit (so the test can fail)
    assert sum(look(cache, t, tenant="alice").hit for t in texts) == len(texts)


def test_ttl_is_not_refreshed_by_hits(make_cache: CacheFactory, clock: Clock,
                                      store_factory: Callable[..., EntryStore]) -> None:
    c = make_cache(store_factory(), ttl_s=10)
    put(c, "q one two")
    clock.now += 6
    assert look(c, "q one two").hit
    clock.now += 6  # 12 s after storing: expired although hit at 6 s
    assert not look(c, "q one two").hit
    assert not look(c, "two one q").hit  # not semantically either
    assert len(c.store) == 0


def test_ttl_refresh_on_hit_when_configured(make_cache: CacheFactory, clock: Clock,
                                            store_factory: Callable[..., EntryStore]) -> None:
    c = make_cache(store_factory(refresh_ttl_on_hit=True), ttl_s=10)
    put(c, "q one two")
    clock.now += 6
    assert look(c, "q one two").hit
    clock.now += 6
    assert look(c, "q one two").hit
    clock.now += 11
    assert not look(c, "q one two").hit


def test_per_entry_ttl(cache: SemanticCache, clock: Clock) -> None:
    put(cache, "short lived", ttl_s=1)
    put(cache, "long lived", ttl_s=100)
    clock.now += 2
    assert not look(cache, "short lived").hit and look(cache, "long lived").hit


def test_size_bound_evicts_least_recently_used(make_cache: CacheFactory, clock: Clock,
                                               store_factory: Callable[..., EntryStore]) -> None:
    c = make_cache(store_factory(max_entries=3))
    for w in ("alpha", "beta", "gamma"):
        put(c, w)
        clock.now += 1
    assert look(c, "alpha").hit  # alpha is now the most recently used
    clock.now += 1
    put(c, "delta")
    assert len(c.store) == 3
    assert not look(c, "beta").hit
    assert all(look(c, w).hit for w in ("alpha", "gamma", "delta"))


def test_per_tenant_bound_evicts_the_tenants_own(make_cache: CacheFactory, clock: Clock,
                                                store_factory: Callable[..., EntryStore]) -> None:
    c = make_cache(store_factory(max_entries=100, max_entries_per_tenant=2))
    put(c, "bob one", tenant="bob")
    for w in ("a1", "a2", "a3"):
        clock.now += 1
        put(c, w, tenant="alice")
    assert not look(c, "a1", tenant="alice").hit
    assert look(c, "a3", tenant="alice").hit and look(c, "bob one", tenant="bob").hit


def test_invalidate_by_tenant_and_model(cache: SemanticCache) -> None:
    put(cache, "q1", tenant="alice", model="m1")
    put(cache, "q2", tenant="alice", model="m2")
    put(cache, "q3", tenant="bob", model="m1")
    assert cache.invalidate_model("m1") == 2
    assert not look(cache, "q1", "alice", "m1").hit and not look(cache, "q3", "bob", "m1").hit
    assert look(cache, "q2", "alice", "m2").hit
    assert cache.invalidate_tenant("alice") == 1
    assert not look(cache, "q2", "alice", "m2").hit


def test_invalidate_by_serving_model(cache: SemanticCache) -> None:
    put(cache, "q1", model="lmroute/auto")  # answered by m-up (ANSWER.model)
    assert cache.invalidate_model("m-up") == 1
    assert not look(cache, "q1", model="lmroute/auto").hit


def test_erasure_callback_by_session_and_text(cache: SemanticCache) -> None:
    put(cache, "my address is 12 canary street", session="s1")
    put(cache, "unrelated question", session="s2")
    put(cache, "tell me about canary street history", session="s3", tenant="t1")
    assert cache.erase(tenant="t1", session="s1") == 1
    assert cache.erase(tenant="t1", texts=["Canary Street"]) == 1
    assert look(cache, "unrelated question").hit
    assert not look(cache, "my address is 12 canary street").hit
    assert not look(cache, "canary street history tell me about").hit
    with pytest.raises(ValueError, match="session"):
        cache.erase(tenant="t1")


def test_replacing_an_exact_key_keeps_one_entry(cache: SemanticCache) -> None:
    put(cache, "same question")
    put(cache, "same question")
    assert len(cache.store) == 1 and look(cache, "same question").hit


def test_exact_only_cache_never_embeds(make_cache: CacheFactory) -> None:
    c = make_cache(semantic=False)
    put(c, "one two three")
    assert look(c, "one two three").hit
    assert not look(c, "three two one").hit
    assert c.stats()["indexed"] == 0


def test_deferred_index_exact_at_once_semantic_after_index_entry(make_cache: CacheFactory
                                                                  ) -> None:
    """The gateway's store path: ``put(index=False)`` serves the exact tier at once, the
    semantic tier only after ``index_entry`` (which the gateway runs after the response)."""
    c = make_cache()
    key = prompt_key("what is the capital of france", "t1", "m")
    entry = c.put(key, ANSWER, index=False)
    assert look(c, "what is the capital of france").tier == "exact"
    assert not look(c, "capital of france what is the").hit  # not in the index yet
    assert c.index_entry(entry) and not c.index_entry(entry)  # once
    r = look(c, "capital of france what is the")
    assert r.hit and r.tier == "semantic" and r.entry is entry


def test_index_entry_refuses_an_entry_that_is_gone(make_cache: CacheFactory,
                                                   clock: Clock) -> None:
    c = make_cache(ttl_s=10)
    gone = c.put(prompt_key("first question here", "t1", "m"), ANSWER, index=False)
    c.remove([gone.entry_id])
    old = c.put(prompt_key("second question here", "t1", "m"), ANSWER, index=False)
    clock.now += 11  # expired before its index insert ran
    assert not c.index_entry(gone) and not c.index_entry(old)
    assert c.stats()["indexed"] == 0
