"""Hypothesis strategies straight from the JSON schemas of an OpenAPI document.

``valid(schema)`` draws values the schema accepts. ``invalid(schema)`` draws a
``Mutation``: a value with exactly ONE violation (a wrong type, a value out of range or
outside the enum, a pattern miss, a missing required key, a list too short), the same value
repaired (that one location valid again), and the path of the violation
(``messages[1].role``). With one violation at a known place the fuzzer can check that the
gateway refuses it AND names that field; the repaired twin tells a wrong field name from a
second problem the schema cannot express.

A few ms per value (schemathesis's generator took 50-80 ms per chat body on this machine;
it runs too, in the long ``make fuzz``). Supported: ``$ref`` (local), ``type``, ``enum``,
``nullable``, ``oneOf``, ``minimum``/``maximum``, ``minLength``, ``pattern`` (searched, as
JSON Schema does), ``minItems``/``maxItems``, ``properties``/``required``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
# plain JSON values (unknown fields, free-form objects): small and shallow
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.text(max_size=12))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
# strings that break naive code: CR/LF (header injection), NUL, non-Latin-1, separators,
# lone-surrogate-free astral characters, long ones, injection classics
NASTY = ["\r\n", "a\r\nx-injected: 1", "a\nb", "\x00", "\u00e9", "\u2028", "\U0001f642",
         "\ufeff", "x" * 5000, "../../etc/passwd", "%00", "${jndi:ldap://x}", "<script>",
         "' OR 1=1 --", "\\", '"', "null", "NaN", " ", ""]
TEXT = st.one_of(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
                 st.sampled_from(NASTY[:-2]))
ANY_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(NASTY))


@dataclass(frozen=True)
class Mutation:
    """One violation: ``bad`` breaks the schema at ``path``; ``good`` is ``bad`` repaired."""

    bad: Any
    good: Any
    path: str
    why: str


def _join(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def type_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _of_type(t: str) -> st.SearchStrategy[Any]:
    return {"null": st.none(), "boolean": st.booleans(), "integer": st.integers(-1000, 1000),
            "number": st.floats(-1e6, 1e6).filter(lambda x: not x.is_integer()),
            "string": st.text(max_size=10), "array": st.lists(SCALARS, max_size=2),
            "object": st.dictionaries(st.text(max_size=5), SCALARS, max_size=2)}[t]


class SchemaGen:
    """Strategies over the schemas of one OpenAPI document (resolves its local $refs)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            node: Any = self.doc
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            s = node
        return s

    # -- values the schema accepts ---------------------------------------------------
    def valid(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        s = self.resolve(schema)
        base = self._valid_base(s)
        return st.one_of(base, st.none()) if s.get("nullable") else base

    def _valid_base(self, s: dict[str, Any]) -> st.SearchStrategy[Any]:
        if "enum" in s:
            return st.sampled_from(s["enum"])
        if "oneOf" in s:
            return st.one_of(*(self.valid(b) for b in s["oneOf"]))
        t = s.get("type")
        if t == "string":
            return self._string(s)
        if t == "integer":
            return st.integers(int(s.get("minimum", -10**6)), int(s.get("maximum", 10**6)))
        if t == "number":
            lo, hi = s.get("minimum", -1e6), s.get("maximum", 1e6)
            return st.one_of(st.floats(lo, hi, allow_nan=False),
                             st.integers(math.ceil(lo), math.floor(hi)))
        if t == "boolean":
            return st.booleans()
        if t == "array":
            lo = s.get("minItems", 0)
            return st.lists(self.valid(s.get("items", {})), min_size=lo,
                            max_size=min(s.get("maxItems", lo + 3), lo + 3))
        if t == "object" and "properties" in s:
            return self._object(s)
        return JSON_VALUES if t is None else st.dictionaries(st.text(max_size=8), SCALARS,
                                                             max_size=3)

    def _string(self, s: dict[str, Any]) -> st.SearchStrategy[str]:
        if "pattern" in s:
            return st.from_regex(s["pattern"]).filter(lambda x: len(x) >= s.get("minLength", 0))
        return TEXT if s.get("minLength", 0) <= 1 else st.text(min_size=s["minLength"])

    def _object(self, s: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        props: dict[str, Any] = s["properties"]
        required = set(s.get("required", ()))
        return st.fixed_dictionaries(
            {k: self.valid(v) for k, v in props.items() if k in required},
            optional={k: self.valid(v) for k, v in props.items() if k not in required})

    # -- values with one violation -----------------------------------------------------
    def invalid(self, schema: dict[str, Any], path: str = "") -> st.SearchStrategy[Mutation]:
        """Mutations of the schema's values (empty when nothing can be violated)."""
        s = self.resolve(schema)
        options = [self._wrong_type(s, path), *self._constraints(s, path),
                   *self._inside_one_of(s, path)]
        t = s.get("type")
        if t == "object" and "properties" in s:
            options += self._inside_object(s, path)
        if t == "array" and "items" in s:
            options.append(self._inside_array(s, path))
        options = [o for o in options if o is not None]
        return st.one_of(*options) if options else st.nothing()

    def _inside_one_of(self, s: dict[str, Any], path: str) -> list[st.SearchStrategy[Mutation]]:
        """A branch's value broken so that no branch accepts it (a list of 5 stops)."""
        return [self.invalid(b, path).filter(lambda m: not self.accepts(s, m.bad))
                for b in s.get("oneOf", ())]

    def _wrong_type(self, s: dict[str, Any], path: str) -> st.SearchStrategy[Mutation] | None:
        allowed = self._types(s)
        if not allowed:
            return None
        if s.get("nullable"):
            allowed.add("null")
        if "integer" in allowed or "number" in allowed:
            allowed |= {"integer"}
        wrong = [t for t in JSON_TYPES if t not in allowed]
        return st.builds(lambda bad, good: Mutation(bad, good, path, "type"),
                         st.one_of(*(_of_type(t) for t in wrong)), self.valid(s))

    def _types(self, s: dict[str, Any]) -> set[str]:
        if "oneOf" in s:
            return set().union(*(self._types(self.resolve(b)) for b in s["oneOf"]))
        if "enum" in s and "type" not in s:
            return {type_of(v) for v in s["enum"]}
        return {s["type"]} if "type" in s else set()

    def _constraints(self, s: dict[str, Any], path: str) -> list[st.SearchStrategy[Mutation]]:
        good = self.valid(s)
        out: list[st.SearchStrategy[Any]] = []
        if "enum" in s and s.get("type", "string") == "string":
            out.append(ANY_TEXT.filter(lambda x: x not in s["enum"]))
        if "pattern" in s:
            out.append(ANY_TEXT.filter(lambda x: not re.search(s["pattern"], x)))
        if s.get("minLength", 0) >= 1:
            out.append(st.text(max_size=s["minLength"] - 1))
        if s.get("type") in ("integer", "number"):
            out += self._out_of_range(s)
        if s.get("minItems", 0) >= 1:
            out.append(st.lists(self.valid(s.get("items", {})), max_size=s["minItems"] - 1))
        if "maxItems" in s:
            out.append(st.lists(self.valid(s.get("items", {})), min_size=s["maxItems"] + 1,
                                max_size=s["maxItems"] + 2))
        return [st.builds(lambda b, g: Mutation(b, g, path, "constraint"), o, good)
                for o in out]

    @staticmethod
    def _out_of_range(s: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
        out: list[st.SearchStrategy[Any]] = []
        step = 1 if s["type"] == "integer" else 1e-3
        if "minimum" in s:
            lo = s["minimum"] - step
            out.append(st.integers(max_value=math.floor(lo)) if step == 1 else
                       st.floats(max_value=lo, allow_nan=False, allow_infinity=False))
        if "maximum" in s:
            hi = s["maximum"] + step
            out.append(st.integers(min_value=math.ceil(hi)) if step == 1 else
                       st.floats(min_value=hi, allow_nan=False, allow_infinity=False))
        return out

    def _inside_object(self, s: dict[str, Any], path: str) -> list[st.SearchStrategy[Mutation]]:
        parent = self._object(s)
        out: list[st.SearchStrategy[Mutation]] = []
        for key in s.get("required", ()):
            out.append(st.builds(lambda d, k=key: Mutation(
                {x: v for x, v in d.items() if x != k}, d, _join(path, k), "missing"), parent))
        for key, sub in s["properties"].items():
            inner = self.invalid(sub, _join(path, key))
            out.append(st.builds(lambda d, m, k=key: Mutation(
                {**d, k: m.bad}, {**d, k: m.good}, m.path, m.why), parent, inner))
        return out

    def _inside_array(self, s: dict[str, Any], path: str) -> st.SearchStrategy[Mutation]:
        lo = max(1, s.get("minItems", 0))
        items = s["items"]

        @st.composite
        def build(draw: st.DrawFn) -> Mutation:
            lst = draw(st.lists(self.valid(items), min_size=lo, max_size=lo + 2))
            i = draw(st.integers(0, len(lst) - 1))
            m = draw(self.invalid(items, _join(path, i)))
            return Mutation([*lst[:i], m.bad, *lst[i + 1:]], [*lst[:i], m.good, *lst[i + 1:]],
                            m.path, m.why)

        return build()

    # -- the same rules as a validator -------------------------------------------------
    def accepts(self, schema: dict[str, Any], v: Any) -> bool:
        """Does ``schema`` accept ``v`` (the subset of JSON Schema above; oneOf = any)?"""
        s = self.resolve(schema)
        if v is None:
            return bool(s.get("nullable")) or not s or s.get("type") == "null"
        if "oneOf" in s:
            return any(self.accepts(b, v) for b in s["oneOf"])
        if "enum" in s and v not in s["enum"]:
            return False
        t = s.get("type")
        if t is not None and type_of(v) != t and not (t == "number"
                                                        and type_of(v) == "integer"):
            return False
        if isinstance(v, str):
            return len(v) >= s.get("minLength", 0) and ("pattern" not in s
                                                          or re.search(s["pattern"], v) is not None)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return s.get("minimum", -math.inf) <= v <= s.get("maximum", math.inf)
        if isinstance(v, list):
            return (s.get("minItems", 0) <= len(v) <= s.get("maxItems", math.inf)
                    and all(self.accepts(s.get("items", {}), x) for x in v))
        if isinstance(v, dict):
            props = s.get("properties", {})
            return (all(k in v for k in s.get("required", ()))
                    and all(self.accepts(props[k], x) for k, x in v.items() if k in props))
        return True
