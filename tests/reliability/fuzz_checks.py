"""The invariants every response of the gateway must hold, whatever the input.

1. never a 5xx (the backends are healthy while the fuzzer runs);
2. a probe the schema refuses gets a 4xx (``reject``), an oversized body exactly 413;
3. every 4xx is an OpenAI-style error JSON, ``{"error": {"message", "type", "param",
   "code"}}``; a 400 names the field (``param`` set and in the message) or says the body
   is not valid JSON; a probe with one violation gets the field it violated named;
4. no internal detail: no traceback, no file path of the gateway, no backend host:port,
   no secret, unless the client sent that very text;
5. a 2xx stream is well-formed SSE: JSON events, at most one error event, ``[DONE]`` last.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.reliability.attacks import Probe, root

# 5xx answers that are the documented outcome of a request, not a gateway failure: a
# sensitive (edge-only) request for a model no edge backend serves (docs/reliability.md)
ALLOWED_5XX = ((503, "no_backend", "edge-only"),)
GENERIC_LEAKS = ("Traceback", "site-packages", 'File "/', "<module>", "  File ", "asyncio.",
                 "aiohttp.", "orjson.", "Exception(", "/usr/lib/python")


def check(probe: Probe, r: httpx.Response, leaks: tuple[str, ...]) -> list[str]:
    """The problems of one response (empty = it holds every invariant)."""
    out: list[str] = []
    s = r.status_code
    if s >= 500 and not _allowed_5xx(r):
        out.append(f"status {s}")
    if probe.expect == "reject" and s < 400:
        out.append(f"accepted invalid input (status {s}, field {probe.field})")
    if probe.expect == "413" and s != 413:
        out.append(f"oversized body answered {s}, not 413")
    if s >= 400:
        out += _error_shape(probe, r)
    elif s < 300 and "text/event-stream" in r.headers.get("content-type", ""):
        out += _sse(r.text)
    out += _leaks(probe, r, leaks)
    return out


def _allowed_5xx(r: httpx.Response) -> bool:
    err = error_of(r) or {}
    return any(r.status_code == st and err.get("code") == code
               and text in str(err.get("message")) for st, code, text in ALLOWED_5XX)


def error_of(r: httpx.Response) -> dict[str, Any] | None:
    try:
        body = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else None


def _error_shape(probe: Probe, r: httpx.Response) -> list[str]:
    err = error_of(r)
    if err is None or not isinstance(err.get("message"), str) or not err["message"] \
            or not isinstance(err.get("type"), str) or "param" not in err or "code" not in err:
        return [f"{r.status_code} is not an OpenAI-style error: {r.text[:200]!r}"]
    if r.status_code == 422:
        return ["422 (framework validation leaked)"]
    if r.status_code != 400:
        return []
    msg, param = err["message"], err.get("param")
    if param:
        return [] if root(param) in msg else [f"400 param {param!r} not in message {msg!r}"]
    if err.get("code") == "invalid_json" and ("JSON" in msg or "body" in msg):
        return []
    return [f"400 names no field: {msg!r}"]


def named(probe: Probe, r: httpx.Response) -> bool | None:
    """For a probe with one known violation: did the 4xx name that field? (None: n/a)"""
    if probe.field is None or r.status_code < 400 or r.status_code >= 500:
        return None
    err = error_of(r) or {}
    param = err.get("param") or ""
    if probe.field == "":  # the body itself is not an object
        return err.get("code") == "invalid_json"
    want = root(probe.field).lower()
    # the param, or the message quoting it ("expected one of 'text', 'messages' or ...")
    return root(param).lower() == want or f"'{want}'" in str(err.get("message", "")).lower()


def _sse(text: str) -> list[str]:
    events = [e for e in text.split("\n\n") if e.strip()]
    if not events or events[-1].strip() != "data: [DONE]":
        return [f"stream does not end with [DONE]: {text[-120:]!r}"]
    errors = 0
    for i, e in enumerate(events[:-1]):
        if not e.startswith("data: "):
            return [f"SSE event without data: {e[:80]!r}"]
        try:
            doc = json.loads(e[6:])
        except json.JSONDecodeError:
            return [f"SSE event is not JSON: {e[:80]!r}"]
        if not isinstance(doc, dict):
            return [f"SSE event is not an object: {e[:80]!r}"]
        if "error" in doc:
            errors += 1
            if i != len(events) - 2:
                return ["SSE error event not right before [DONE]"]
    return [] if errors <= 1 else [f"{errors} SSE error events"]


def _leaks(probe: Probe, r: httpx.Response, leaks: tuple[str, ...]) -> list[str]:
    sent = (probe.body or b"").decode(errors="replace") + probe.path + " ".join(
        probe.headers.values())
    seen = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    return [f"response holds {m!r}" for m in (*GENERIC_LEAKS, *leaks)
            if m and m in seen and m not in sent]
