"""What the OpenAI chat-completions API defines for the optional request fields, checked
before anything is sent upstream: a bad value is a 400 naming the field, never a value an
upstream may choke on (or silently accept) later.

Unknown top-level fields are passed through (backends add their own: vLLM's
``guided_json``, llama.cpp's ``mirostat``); only the fields the API defines are checked.
Nesting is bounded (``MAX_JSON_DEPTH``): the upstream payload is re-encoded, and orjson
refuses objects nested deeper than 254 levels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from serve.errors import bad_request

MAX_JSON_DEPTH = 64  # OpenAI tool schemas nest ~10 deep; orjson's encoder stops at 254
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
TOOL_CHOICES = frozenset({"none", "auto", "required"})


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _range(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: _is_number(v) and lo <= v <= hi


def _int_range(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: _is_int(v) and lo <= v <= hi


def _stop(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and 1 <= len(v) <= 4
                                  and all(isinstance(s, str) for s in v))


def _tool_choice(v: Any) -> bool:
    return (isinstance(v, str) and v in TOOL_CHOICES) or (isinstance(v, dict)
                                                           and isinstance(v.get("type"), str))


# field -> (check, what was expected); null is accepted for every optional field
CACHE_FLAG = "lmroute_cache"  # the gateway's own body field ("false": skip the cache)

SCALAR_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_range(0.0, 2.0), "a number in [0, 2]"),
    "top_p": (_range(0.0, 1.0), "a number in [0, 1]"),
    "n": (_int_range(1, 128), "an integer in [1, 128]"),
    "presence_penalty": (_range(-2.0, 2.0), "a number in [-2, 2]"),
    "frequency_penalty": (_range(-2.0, 2.0), "a number in [-2, 2]"),
    "logprobs": (lambda v: isinstance(v, bool), "a boolean"),
    "top_logprobs": (_int_range(0, 20), "an integer in [0, 20]"),
    "seed": (_int_range(-2**63, 2**63 - 1), "a 64-bit integer"),
    "stop": (_stop, "a string or a list of 1 to 4 strings"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "stream_options": (lambda v: isinstance(v, dict), "an object such as "
                       '{"include_usage": true}'),
    "response_format": (lambda v: isinstance(v, dict) and isinstance(v.get("type"), str),
                        'an object with a string "type"'),
    "tool_choice": (_tool_choice, "'none', 'auto', 'required' or an object with a 'type'"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "a boolean"),
    "logit_bias": (lambda v: isinstance(v, dict) and all(_range(-100, 100)(x)
                                                         for x in v.values()),
                   "an object of token id -> number in [-100, 100]"),
    "metadata": (lambda v: isinstance(v, dict), "an object"),
    CACHE_FLAG: (lambda v: isinstance(v, bool), "a boolean (false: do not use the cache)"),
}


def check_fields(body: dict[str, Any]) -> None:
    """Raise a 400 naming the first optional field whose value the API does not allow."""
    for name, (ok, expected) in SCALAR_RULES.items():
        v = body.get(name)
        if v is not None and not ok(v):
            raise bad_request(f"'{name}': expected {expected}, got {_show(v)}.", param=name)
    so = body.get("stream_options")
    if so is not None and "include_usage" in so and not isinstance(so["include_usage"], bool):
        raise bad_request("'stream_options.include_usage': expected a boolean.",
                          param="stream_options.include_usage")
    if body.get("tools") is not None:
        check_tools(body["tools"])


def check_tools(tools: Any) -> None:
    """``tools``: a list of ``{"type": "function", "function": {"name": str, ...}}``."""
    if not isinstance(tools, list):
        raise bad_request(f"'tools': expected a list of tool objects, got {_show(tools)}.",
                          param="tools")
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, dict) else None
        if not (isinstance(t, dict) and t.get("type") == "function" and isinstance(fn, dict)
                and isinstance(fn.get("name"), str) and fn["name"]):
            raise bad_request(f"tools[{i}]: expected {{'type': 'function', 'function': "
                              "{'name': ..., 'parameters': {...}}}.", param=f"tools[{i}]")


def check_message(i: int, m: Any) -> None:
    """One entry of ``messages``: a known role and string / content-part / null content."""
    if not isinstance(m, dict) or not isinstance(m.get("role"), str):
        raise bad_request(f"messages[{i}]: expected an object with a string 'role'.",
                          param=f"messages[{i}]")
    if m["role"] not in ROLES:
        raise bad_request(f"messages[{i}].role: expected one of {sorted(ROLES)}, got "
                          f"{_show(m['role'])}.", param=f"messages[{i}].role")
    c = m.get("content")
    if c is not None and not isinstance(c, str | list):
        raise bad_request(f"messages[{i}].content: expected a string, a list of content "
                          f"parts or null, got {_show(c)}.", param=f"messages[{i}].content")
    if isinstance(c, list) and not all(isinstance(p, dict) and isinstance(p.get("type"), str)
                                       for p in c):
        raise bad_request(f"messages[{i}].content: each content part must be an object with "
                          "a string 'type'.", param=f"messages[{i}].content")


def check_depth(raw: bytes, obj: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` levels (a 400 naming where). Free for
    ordinary bodies: with fewer than ``limit`` brackets in all, nothing is walked."""
    if raw.count(b"{") + raw.count(b"[") < limit:
        return
    stack: list[tuple[Any, int, str]] = [(obj, 1, "")]
    while stack:
        o, d, path = stack.pop()
        if d > limit:
            raise bad_request(f"request body is nested more than {limit} levels deep "
                              f"(at '{path[:120]}...').", code="invalid_json",
                              param=path.split(".")[0].split("[")[0] or None)
        items = o.items() if isinstance(o, dict) else enumerate(o)
        for k, v in items:
            if isinstance(v, dict | list):
                sub = f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]"
                stack.append((v, d + 1, sub.lstrip(".")))


def _show(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."
