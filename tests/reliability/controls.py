"""Probes for the controls the gateway reads that its OpenAPI document does not declare:
the cache stage's ``x-lmroute-cache`` (bypass) and ``x-lmroute-tenant`` headers and its
``lmroute_cache`` body flag (serve/stages/cache.py). The schema-driven strategies of
``attacks.py`` never send them, so this adds, for every operation with a JSON body:

- a valid body (sometimes with the body flag set to any JSON value) and hostile values of
  the undeclared headers;
- a few fixed chat-like bodies, plain and streamed, sent again and again (in a few
  tenants, sometimes bypassing), where the operation's schema accepts them: the repeats
  reach the cache's hit path (exact and semantic tiers, a replayed stream).

Expectation ``any``: whatever the values, never a 5xx, and every check of
``fuzz_checks.py`` (a 4xx names its field; a replayed stream is well-formed SSE).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.reliability.attacks import (
    HOSTILE,
    LATIN1_TEXT,
    Operation,
    Probe,
    _fill,
    dumps,
    good_headers,
    path_values,
)
from tests.reliability.attacks import strategy as schema_strategy
from tests.reliability.schema_gen import JSON_VALUES, SchemaGen

UNDECLARED_HEADERS = ("x-lmroute-cache", "x-lmroute-tenant")
BODY_FLAG = "lmroute_cache"
HEADER_VALUES = st.one_of(  # stripped: a client library refuses edge whitespace
    st.sampled_from(["bypass", "BYPASS", "Off", "off", "no-cache", "false", "0", "1", "hit",
                     "miss", "", "tenant-a", "tenant-b", "key:other/tenant:x"]),
    st.sampled_from([v for v in HOSTILE if all(ord(c) < 256 for c in v)]),
    LATIN1_TEXT).map(str.strip)
# repeated on purpose: the second of each is a hit (exact), a near-twin may be (semantic)
REPEATS = ("What is the capital of France?", "What is the capital of France??",
           "what is the capital of france?", "capital city of France please",
           "Write a haiku about the sea")
# repeats share few partitions (else every repeat is alone in its tenant and misses)
REPEAT_HEADERS = st.sampled_from([{}, {}, {"x-lmroute-tenant": "tenant-a"},
                                  {"x-lmroute-cache": "bypass"}, {"x-lmroute-cache": "miss"}])


def _repeat_body(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"model": draw(st.sampled_from(["lmroute/auto", "lmroute/cheap"])),
                            "messages": [{"role": "user",
                                          "content": draw(st.sampled_from(REPEATS))}]}
    if draw(st.booleans()):
        body["stream"] = True
        if draw(st.booleans()):
            body["stream_options"] = {"include_usage": True}
    return body


def undeclared(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe] | None:
    """Valid bodies with the undeclared controls (see module); None without a body."""
    if not op.body_schema or gen.resolve(op.body_schema).get("type") != "object":
        return None
    repeat_ok = gen.accepts(op.body_schema, {"model": "lmroute/auto", "messages": [
        {"role": "user", "content": REPEATS[0]}], "stream": True,
        "stream_options": {"include_usage": True}})

    @st.composite
    def build(draw: st.DrawFn) -> Probe:
        h = dict(draw(good_headers(gen, op)))
        if repeat_ok and draw(st.booleans()):
            body = _repeat_body(draw)
            h = {**op.auth, **draw(REPEAT_HEADERS)}
        else:
            body = draw(gen.valid(op.body_schema))
            h.update(draw(st.dictionaries(st.sampled_from(UNDECLARED_HEADERS), HEADER_VALUES,
                                          min_size=1)))
        if isinstance(body, dict) and draw(st.integers(0, 3)) == 0:
            body = {**body, BODY_FLAG: draw(JSON_VALUES)}
        return Probe(op.label, op.method, op.path, "undeclared", h, dumps(body), "any")

    probes = build()
    return st.builds(_fill, probes, path_values(op)) if op.params("path") else probes


def strategy(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe]:
    """``attacks.strategy`` (everything the document declares) plus ``undeclared``."""
    extra = undeclared(gen, op)
    base = schema_strategy(gen, op)
    return base if extra is None else st.one_of(base, base, base, extra)  # 1 in 4
