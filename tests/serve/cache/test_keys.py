"""What a cache key includes: the answer-changing parts, and nothing that is not."""

from __future__ import annotations

import pytest

from serve.cache.keys import Uncacheable, normalise, prompt_key, request_key


def body(**kw: object) -> dict:
    return {"model": "lmroute/auto", "messages": [{"role": "user", "content": "Hi there"}], **kw}


def test_normalise_whitespace_unicode_and_optional_casefold() -> None:
    assert normalise("  What\u00a0is\n\tit?  ") == "What is it?"
    assert normalise("ＡＢＣ") == "ABC"  # NFKC
    assert normalise("Hello", casefold=True) == "hello"


@pytest.mark.parametrize("change", [
    {"model": "other"}, {"temperature": 0.7}, {"max_tokens": 5}, {"seed": 3},
    {"tools": [{"type": "function", "function": {"name": "f"}}]}, {"response_format":
                                                                      {"type": "json_object"}},
    {"some_unknown_param": 1}])
def test_answer_changing_fields_change_the_context(change: dict) -> None:
    a, b = request_key(body(), "t"), request_key(body(**change), "t")
    assert a.context != b.context and a.exact != b.exact and a.partition != b.partition


@pytest.mark.parametrize("change", [{"stream": True}, {"stream_options": {"include_usage": True}},
                                    {"user": "u1"}, {"metadata": {"a": 1}}])
def test_fields_that_do_not_change_the_answer_keep_the_key(change: dict) -> None:
    assert request_key(body(), "t") == request_key(body(**change), "t")


def test_system_prompt_and_prior_turns_are_context() -> None:
    def conv(prev: str) -> dict:
        return {"model": "m", "messages": [{"role": "user", "content": prev},
                                           {"role": "assistant", "content": "ok"},
                                           {"role": "user", "content": "cancel it"}]}
    a, b = request_key(conv("book a flight"), "t"), request_key(conv("order a pizza"), "t")
    assert a.query == b.query == "cancel it"
    assert a.partition != b.partition and a.exact != b.exact
    sys_a = {"model": "m", "messages": [{"role": "system", "content": "Be brief"},
                                        {"role": "user", "content": "q"}]}
    sys_b = {"model": "m", "messages": [{"role": "system", "content": "Be verbose"},
                                        {"role": "user", "content": "q"}]}
    assert request_key(sys_a, "t").partition != request_key(sys_b, "t").partition


def test_routing_overrides_are_context() -> None:
    assert request_key(body(), "t").context != \
        request_key(body(), "t", routing={"x-lmroute-sensitive": "true"}).context


def test_tenant_is_a_length_prefixed_partition() -> None:
    # no separator trick can make two tenants share a partition
    a = prompt_key("x", "a:b", "c")
    b = prompt_key("x", "a", "b:c")
    assert a.partition != b.partition
    assert prompt_key("x", "t1").exact != prompt_key("x", "t2").exact


@pytest.mark.parametrize("bad,reason", [
    (body(n=2), "n=2"),
    ({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:"}}]}]}, "image_url"),
    ({"model": "m", "messages": [{"role": "user", "content": "   "}]}, "no text")])
def test_uncacheable_requests_say_why(bad: dict, reason: str) -> None:
    with pytest.raises(Uncacheable, match=reason):
        request_key(bad, "t")


def test_text_parts_are_joined() -> None:
    b = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}]}
    assert request_key(b, "t").query == "Hi there"
