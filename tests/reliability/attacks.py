"""What the fuzzer sends: ``Probe`` (one HTTP request and what the gateway must do with it)
and the Hypothesis strategies that draw probes for ANY operation of the OpenAPI document,
from its request schema, its header parameters, its security and its ``x-lmroute-*``
limits. Nothing here names an endpoint: a path added to the document is fuzzed as is.

Expectations: ``reject`` = a 4xx (the input is invalid), ``413`` = exactly that, ``any`` = a
2xx/3xx or a 4xx. Every probe must also pass the checks of ``fuzz_checks.py`` (never a
5xx, never internal details, errors in OpenAI's shape naming the field).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.reliability.schema_gen import JSON_VALUES, Mutation, SchemaGen

# header values a hostile or buggy client sends (the fuzzer keeps those the schema refuses)
HOSTILE = ["NaN", "nan", "-nan", "inf", "-inf", "Infinity", "-1", "-0.5", "", "abc", "1e999",
           "-1e999", "0x10", "1,2", "1;2", "w_cost=nan", "w_cost=-1", "w_cost=inf",
           "w_bogus=1", "w_cost", "=1", "w_cost=1,,w_latency=", "true1", "yes please", "2",
           "1.5", "9" * 400, "\u00e9\u00e8", "null", "[]", "{}", "%00", "x" * 5000]
LATIN1_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    blacklist_characters="\x7f"), max_size=30)


def dumps(obj: Any) -> bytes:
    """JSON as a client library writes it (the standard library: any integer size)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Probe:
    """One request and what must happen to it."""

    op: str  # "POST /v1/chat/completions"
    method: str
    path: str
    kind: str  # positive | negative | header | <raw attack>
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    expect: str = "any"  # any | reject | 413
    field: str | None = None  # the violated field (negative / header probes)
    twin: bytes | None = None  # the same body with that field repaired
    twin_headers: dict[str, str] | None = None  # the same headers without the bad one
    chunked: bool = False  # send without content-length


@dataclass
class Operation:
    """One operation of the document, with what the strategies need of it."""

    label: str
    method: str
    path: str
    spec: dict[str, Any]
    auth: dict[str, str]  # the headers that authenticate it ({} = none needed)

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = (self.spec.get("requestBody") or {}).get("content", {})
        return (content.get("application/json") or {}).get("schema")

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == where]

    @property
    def headers(self) -> list[dict[str, Any]]:
        return self.params("header")

    def limit(self, name: str) -> int | None:
        v = self.spec.get(f"x-lmroute-{name}")
        return v if isinstance(v, int) else None


def header_ok(gen: SchemaGen, schema: dict[str, Any], value: str) -> bool:
    """Does a header parameter's schema accept this (string) value? Numbers: anything
    ``float`` reads that is finite and in range; enums: case-insensitive."""
    s = gen.resolve(schema)
    if s.get("type") in ("number", "integer"):
        try:
            x = float(value) if s["type"] == "number" else int(value)
        except ValueError:
            return False  # an int of any size compares with the bounds (no float() of it)
        return (isinstance(x, int) or math.isfinite(x)) and \
            s.get("minimum", -math.inf) <= x <= s.get("maximum", math.inf)
    if "enum" in s:
        return value.strip().lower() in s["enum"]
    return gen.accepts(s, value)


def _header_value(gen: SchemaGen, schema: dict[str, Any]) -> st.SearchStrategy[str]:
    s = gen.resolve(schema)
    if s.get("type") == "integer":
        return st.integers(s.get("minimum", -1000), s.get("maximum", 10**6)).map(str)
    if s.get("type") == "number":
        lo, hi = s.get("minimum", 0), s.get("maximum", 1e6)
        return st.floats(lo, hi, allow_nan=False).map(repr)
    return gen.valid(s).map(str).filter(lambda v: v.isprintable() and v == v.strip()
                                        and all(ord(c) < 256 for c in v))


def good_headers(gen: SchemaGen, op: Operation) -> st.SearchStrategy[dict[str, str]]:
    """Valid values for some of the operation's header parameters, plus its auth."""
    return st.fixed_dictionaries({}, optional={p["name"]: _header_value(gen, p["schema"])
                                               for p in op.headers}).map(
        lambda h: {**h, **op.auth})


def good_query(gen: SchemaGen, op: Operation) -> st.SearchStrategy[str]:
    """``?a=1&b=x`` with valid values for some of the query parameters ('' for none)."""
    return st.fixed_dictionaries({}, optional={p["name"]: _header_value(gen, p["schema"])
                                               for p in op.params("query")}).map(
        lambda q: "?" + urlencode(q) if q else "")


def positive(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe]:
    body = gen.valid(op.body_schema) if op.body_schema else st.none()
    return st.builds(lambda b, h, q: Probe(op.label, op.method, op.path + q, "positive", h,
                                           None if b is None else dumps(b)),
                     body, good_headers(gen, op), good_query(gen, op))


def negative(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe] | None:
    """A body with one violation (expect a 4xx naming it)."""
    if not op.body_schema:
        return None

    def build(m: Mutation, h: dict[str, str]) -> Probe:
        return Probe(op.label, op.method, op.path, "negative", h, dumps(m.bad), "reject",
                     m.path, dumps(m.good))

    return st.builds(build, gen.invalid(op.body_schema), good_headers(gen, op))


def _constrained(s: dict[str, Any]) -> bool:
    """Can a header value break this schema (a plain string cannot)?"""
    return s.get("type") in ("number", "integer") or any(
        k in s for k in ("enum", "pattern", "minLength", "maxLength"))


def bad_header(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe] | None:
    """One header parameter with a value its schema refuses (expect a 400 naming it)."""
    checked = [p for p in op.headers if _constrained(gen.resolve(p["schema"]))]
    if not checked:
        return None

    @st.composite
    def build(draw: st.DrawFn) -> Probe:
        p = draw(st.sampled_from(checked))
        value = draw(st.one_of(st.sampled_from(HOSTILE), LATIN1_TEXT).filter(
            lambda v: not header_ok(gen, p["schema"], v.strip())))
        h = draw(good_headers(gen, op))
        body = draw(gen.valid(op.body_schema)) if op.body_schema else None
        return Probe(op.label, op.method, op.path, "header", {**h, p["name"]: value},
                     None if body is None else dumps(body), "reject", p["name"],
                     twin_headers={k: v for k, v in h.items() if k != p["name"]})

    return build()


def bad_query(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe] | None:
    """One query parameter with a value its schema refuses (expect a 400 naming it)."""
    checked = [p for p in op.params("query") if _constrained(gen.resolve(p["schema"]))]
    if not checked:
        return None

    @st.composite
    def build(draw: st.DrawFn) -> Probe:
        p = draw(st.sampled_from(checked))
        value = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)).filter(
            lambda v: not header_ok(gen, p["schema"], v)))
        body = draw(gen.valid(op.body_schema)) if op.body_schema else None
        return Probe(op.label, op.method, op.path + "?" + urlencode({p["name"]: value}),
                     "query", dict(draw(good_headers(gen, op))),
                     None if body is None else dumps(body), "reject", p["name"])

    return build()


# path parameter values that break naive routing or storage
PATH_NASTY = ["..", "../../etc/passwd", "a/b", "%2e%2e%2f", "\x00", " ", "x" * 300, "\u00e9",
              "\U0001f642", "?", "#", ";", "'", "null", "-1", "0"]


PATH_PLAIN = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)


def path_values(op: Operation) -> st.SearchStrategy[tuple[dict[str, str], bool]]:
    """(a value for every path parameter, URL-quoted; whether one is nasty). A nasty one
    may not even reach the operation (``a/b`` is another route): anything but a 5xx."""
    names = [p["name"] for p in op.params("path")]
    plain = st.fixed_dictionaries({n: PATH_PLAIN for n in names}).map(lambda d: (d, False))
    nasty = st.fixed_dictionaries({n: st.one_of(PATH_PLAIN, st.sampled_from(PATH_NASTY))
                                   for n in names}).map(
        lambda d: ({k: quote(v, safe="") for k, v in d.items()}, True))
    return st.one_of(plain, plain, plain, nasty)


def _fill(p: Probe, values: tuple[dict[str, str], bool]) -> Probe:
    for name, v in values[0].items():
        p.path = p.path.replace("{" + name + "}", v)
    if values[1]:
        p.kind, p.expect, p.field, p.twin, p.twin_headers = "path", "any", None, None, None
    return p


def bad_auth(op: Operation) -> st.SearchStrategy[Probe] | None:
    """No key, a wrong key, a malformed or huge one (expect a 401)."""
    if not op.auth:
        return None
    tokens = st.one_of(st.sampled_from(["", "Bearer", "Basic dXNlcjpwYXNz",
                                        "Bearer lmr-000000000000.nope", "bearer " + "x" * 9000,
                                        "Bearer lmr-" + "a" * 12 + "." + "b" * 65]),
                       LATIN1_TEXT.map(lambda t: ("Bearer " + t).strip()))
    body = st.just(b'{"x": 1}')
    return st.builds(lambda t, b: Probe(op.label, op.method, op.path, "bad_auth",
                                        {"authorization": t} if t else {}, b, "reject"),
                     tokens, body)


def nested(depth: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` (``depth`` levels) mixing objects and lists."""
    v = leaf
    for i in range(depth):
        v = {"a": v} if i % 3 else [v]
    return v


def _with_key(body: bytes, key: str, raw_value: bytes) -> bytes:
    """``body`` (a JSON object) with one more member whose value is raw bytes."""
    inner = body.strip()[1:-1].strip()
    member = dumps(key) + b": " + raw_value
    return b"{" + member + (b", " + inner if inner else b"") + b"}"


RAW_KINDS = ("invalid_utf8", "truncated", "trailing_garbage", "bom", "nan_literal",
             "not_object", "deep", "oversized", "oversized_chunked", "unknown_fields",
             "content_type", "duplicate_keys", "huge_number", "stream")


def raw(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe] | None:
    """Byte-level attacks on a valid body: broken JSON, nesting, size, types of content."""
    if not op.body_schema:
        return None

    @st.composite
    def build(draw: st.DrawFn) -> Probe:
        kind = draw(st.sampled_from(RAW_KINDS))
        body = draw(gen.valid(op.body_schema))
        good = dumps(body)
        p = Probe(op.label, op.method, op.path, kind, dict(draw(good_headers(gen, op))))
        p.body, p.expect = _raw_body(draw, kind, body, good, op, p, gen)
        return p

    return build()


def _raw_body(draw: st.DrawFn, kind: str, body: Any, good: bytes, op: Operation, p: Probe,
              gen: SchemaGen) -> tuple[bytes, str]:
    if kind == "invalid_utf8":
        junk = draw(st.binary(min_size=1, max_size=8).filter(_not_utf8))
        return _with_key(good, "zz", b'"' + junk + b'"'), "reject"
    if kind == "truncated":
        return good[:draw(st.integers(0, max(0, len(good) - 1)))], "reject"
    if kind == "trailing_garbage":
        return good + draw(st.sampled_from([b"x", b"}", b",", b"\x00", b'{"a":1}'])), "reject"
    if kind == "bom":
        return b"\xef\xbb\xbf" + good, "reject"
    if kind == "nan_literal":
        return _with_key(good, "temperature", draw(st.sampled_from(
            [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"01", b"+1", b".5"]))), "reject"
    if kind == "not_object":
        return draw(st.sampled_from([b"[]", b"null", b"1", b'"x"', b"true", dumps([body])])
                    ), "reject"
    if kind == "deep":
        return _deep(draw, good, op)
    if kind in ("oversized", "oversized_chunked"):
        return _oversized(draw, kind, good, op, p)
    if kind == "unknown_fields":
        extra = draw(st.dictionaries(st.text(min_size=1, max_size=10), JSON_VALUES,
                                     min_size=1, max_size=4))
        return dumps({**extra, **body} if isinstance(body, dict) else body), "any"
    if kind == "content_type":
        p.headers["content-type"] = draw(st.sampled_from(
            ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
             "application/json; charset=latin-1", "application/json; charset=utf-16", "*/*"]))
        return good, "any"
    if kind == "duplicate_keys":
        key = draw(st.sampled_from(sorted(body))) if isinstance(body, dict) and body else "k"
        return _with_key(good, key, b'"duplicate"'), "any"
    if kind == "huge_number":
        n = draw(st.sampled_from([b"1e308", b"-1e308", b"18446744073709551616",
                                  b"-9223372036854775809", b"1" * 400, b"-0", b"5e-324"]))
        return _with_key(good, "zz_number", n), "any"
    # stream: the same body, streamed when the schema has a boolean "stream"
    if isinstance(body, dict) and "stream" in _props(gen, op):
        body = {**body, "stream": True}
    return dumps(body), "any"


def _props(gen: SchemaGen, op: Operation) -> dict[str, Any]:
    assert op.body_schema is not None
    return gen.resolve(op.body_schema).get("properties", {})


def _deep(draw: st.DrawFn, good: bytes, op: Operation) -> tuple[bytes, str]:
    limit = op.limit("max-depth")
    depth = draw(st.one_of(st.integers(2, 40), st.integers(65, 300),
                           st.sampled_from([253, 254, 255, 1023, 1024, 1025, 5000])))
    value = dumps(nested(depth)) if depth < 250 else (b"[" * depth + b"]" * depth)
    expect = "any" if limit is None or depth + 1 <= limit - 1 else "reject"
    if limit is not None and limit - 1 <= depth + 1 <= limit + 1:
        expect = "any"  # at the edge: counting conventions differ by one
    return _with_key(good, "zz_deep", value), expect


def _oversized(draw: st.DrawFn, kind: str, good: bytes, op: Operation, p: Probe
               ) -> tuple[bytes, str]:
    limit = op.limit("max-body-bytes")
    if limit is None:
        return good, "any"
    target = limit + draw(st.integers(1, 4096))
    pad = max(0, target - len(good) - 12)
    p.chunked = kind == "oversized_chunked"
    return _with_key(good, "zz_pad", b'"' + b"p" * pad + b'"'), "413"


def _not_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return b'"' not in b and b"\\" not in b
    return False


def noise(op: Operation) -> st.SearchStrategy[Probe]:
    """Things the operation does not define: a query string, unknown headers and, where it
    takes no body, a body anyway (ignored: any answer but a 5xx)."""
    query = st.dictionaries(st.text("abcxyz_", min_size=1, max_size=6), LATIN1_TEXT,
                            max_size=3)
    extra = st.dictionaries(st.sampled_from(["x-fuzz", "x-lmroute-unknown", "accept",
                                             "accept-encoding", "x-forwarded-for", "range",
                                             "if-none-match", "expect-ct"]),
                            LATIN1_TEXT.map(str.strip), max_size=3)
    body = st.just(None) if op.body_schema else st.one_of(st.none(), st.binary(max_size=64))

    def build(q: dict[str, str], h: dict[str, str], b: bytes | None) -> Probe:
        path = op.path + ("?" + urlencode(q) if q else "")
        return Probe(op.label, op.method, path, "noise", {**h, **op.auth}, b, "any")

    return st.builds(build, query, extra, body)


def unknown_routes(paths: dict[str, Any]) -> list[Probe]:
    """Methods a path does not have, and paths nobody defined (expect a 4xx)."""
    out: list[Probe] = []
    for path, item in paths.items():
        for m in ("get", "post", "put", "delete", "patch"):
            if m not in item:
                out.append(Probe(f"{m.upper()} {path}", m.upper(), path, "wrong_method",
                                 body=b"{}" if m != "get" else None, expect="reject"))
    for path in ("/", "/v1", "/v1/nope", "/v1/chat/completions/x", "/../../etc/passwd",
                 "/v1/%00", "/" + "a" * 8000, "/admin", "/admin/router/../router",
                 "/docs", "/redoc", "/health"):
        out.append(Probe(f"GET {path[:40]}", "GET", path, "unknown_path", expect="reject"))
    return out


def operation_list(doc: dict[str, Any], auth: dict[str, dict[str, str]]) -> list[Operation]:
    """Every operation of the document; ``auth`` maps a security scheme to its headers."""
    from serve.openapi import operations

    def deref(p: dict[str, Any]) -> dict[str, Any]:
        node: Any = doc
        for part in p["$ref"].lstrip("#/").split("/") if "$ref" in p else ():
            node = node[part]
        return node if "$ref" in p else p

    out = []
    for path, method, spec in operations(doc):
        shared = doc["paths"][path].get("parameters", [])  # path-level parameters
        spec = {**spec, "parameters": [deref(p) for p in (*shared, *spec.get("parameters", []))]}
        schemes = [name for req in spec.get("security", []) for name in req]
        headers = {k: v for s in schemes for k, v in auth.get(s, {}).items()}
        out.append(Operation(f"{method.upper()} {path}", method.upper(), path, spec, headers))
    return out


def strategy(gen: SchemaGen, op: Operation) -> st.SearchStrategy[Probe]:
    """All probes of one operation."""
    parts = [positive(gen, op), negative(gen, op), bad_header(gen, op), bad_query(gen, op),
             bad_auth(op), raw(gen, op), None if op.body_schema else noise(op)]
    probes = st.one_of(*(p for p in parts if p is not None))
    return st.builds(_fill, probes, path_values(op)) if op.params("path") else probes


def root(path: str | None) -> str:
    """``messages[0].role`` -> ``messages``."""
    return re.split(r"[.\[]", path or "", maxsplit=1)[0]
