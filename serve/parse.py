"""Validation of the chat-completion body and of the x-lmroute-* request headers.

Every problem becomes a ``GatewayError`` (400) naming the field and what was expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from router_model.reward import RewardWeights
from serve.body_rules import check_depth, check_fields, check_message
from serve.errors import bad_request
from serve.jsonfast import loads
from serve.settings import ProfileSettings

H_MAX_LATENCY = "x-lmroute-max-latency-ms"
H_MAX_COST = "x-lmroute-max-cost-usd"
H_TRADEOFF = "x-lmroute-tradeoff"
H_WEIGHTS = "x-lmroute-weights"
H_SENSITIVE = "x-lmroute-sensitive"
H_TASK = "x-lmroute-task"
WEIGHT_NAMES = ("w_cost", "w_latency", "w_energy")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request JSON as a dict with a valid ``model`` and ``messages``."""
    if not raw.strip():
        raise bad_request("Request body is empty: expected a JSON object.", code="invalid_json")
    try:
        body = loads(raw)
    except ValueError as exc:
        raise bad_request(f"Request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.", code="invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required: a non-empty string (e.g. 'lmroute/auto').",
                          code="missing_required_parameter", param="model")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise bad_request("'messages' is required: a non-empty list of {role, content}.",
                          code="missing_required_parameter", param="messages")
    for i, m in enumerate(msgs):
        check_message(i, m)
    check_depth(raw, body)
    for name in ("max_tokens", "max_completion_tokens"):  # both go upstream: check both
        mt = body.get(name)
        if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 1):
            raise bad_request(f"'{name}': expected a positive integer, got {mt!r}.",
                              param=name)
    if not isinstance(body.get("stream", False), bool):
        raise bad_request("'stream': expected a boolean.", param="stream")
    check_fields(body)
    return body


def routing_text(messages: list[dict[str, Any]]) -> str:
    """All message contents joined by newlines (the router keeps the tail)."""
    parts: list[str] = []
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, list):  # content parts: keep the text ones
            parts.extend(p["text"] for p in c
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
    text = "\n".join(p for p in parts if p)
    if not text.strip():
        raise bad_request("messages: no text content to answer.", param="messages")
    return text


def _number(headers: Mapping[str, str], name: str) -> float | None:
    v = headers.get(name)
    if v is None:
        return None
    try:
        x = float(v)
    except ValueError:
        x = math.nan
    if not math.isfinite(x) or x < 0:
        raise bad_request(f"header {name}: expected a finite number >= 0, got {v[:60]!r}.",
                          param=name)
    return x


def _header_weights(headers: Mapping[str, str], profiles: dict[str, ProfileSettings]
                    ) -> tuple[float, float, float] | None:
    t = _number(headers, H_TRADEOFF)  # checked even when x-lmroute-weights is there
    if (spec := headers.get(H_WEIGHTS)) is not None:
        vals = dict.fromkeys(WEIGHT_NAMES, 0.0)
        try:
            items = [s.strip() for s in spec.split(",") if s.strip()]
            if not items:  # an empty header would silently mean all-zero weights
                raise ValueError(spec)
            for item in items:
                k, v = item.split("=", 1)
                if k.strip() not in vals:
                    raise ValueError(k)
                vals[k.strip()] = float(v)
                if not math.isfinite(vals[k.strip()]) or vals[k.strip()] < 0:
                    raise ValueError(v)
        except ValueError:
            raise bad_request(f"header {H_WEIGHTS}: expected 'w_cost=X,w_latency=Y,w_energy=Z'"
                              " (finite numbers >= 0),"
                              f" got {spec[:80]!r}.", param=H_WEIGHTS) from None
        if t is not None:  # each value was fine; the two together are not
            raise bad_request(f"header {H_TRADEOFF}: send it or {H_WEIGHTS}, not both (both "
                              "set the weights).", param=H_TRADEOFF)
        return vals["w_cost"], vals["w_latency"], vals["w_energy"]
    if t is None:
        return None
    if t > 1 or "lmroute/quality" not in profiles or "lmroute/cheap" not in profiles:
        raise bad_request(f"header {H_TRADEOFF}: expected a number in [0, 1] (0 = the quality "
                          "profile, 1 = the cheap profile).", param=H_TRADEOFF)
    q, c = profiles["lmroute/quality"], profiles["lmroute/cheap"]
    wc, wl, we = ((1 - t) * getattr(q, n) + t * getattr(c, n) for n in WEIGHT_NAMES)
    return wc, wl, we


def request_weights(headers: Mapping[str, str], profile: ProfileSettings,
                    profiles: dict[str, ProfileSettings], cached: RewardWeights
                    ) -> RewardWeights:
    """The profile's weights, overridden by the x-lmroute-* headers when present."""
    max_lat, max_cost = _number(headers, H_MAX_LATENCY), _number(headers, H_MAX_COST)
    w = _header_weights(headers, profiles)
    if w is None and max_lat is None and max_cost is None:
        return cached
    wc, wl, we = w if w is not None else (profile.w_cost, profile.w_latency, profile.w_energy)
    try:
        return RewardWeights(wc, wl, we, math.inf if max_lat is None else max_lat,
                             math.inf if max_cost is None else max_cost)
    except ValueError as exc:
        raise bad_request(f"x-lmroute weights: {exc}", param=H_WEIGHTS) from exc


ROUTING_HEADERS = (H_MAX_LATENCY, H_MAX_COST, H_TRADEOFF, H_WEIGHTS)


def ignored_routing_headers(headers: Mapping[str, str],
                            profiles: dict[str, ProfileSettings]) -> list[str]:
    """For a request naming a concrete model: the routing headers it sent, each checked
    as for a profile (a bad value is still a 400); they are then ignored (there is no
    choice to steer) and the response says so in ``x-lmroute-ignored-headers``."""
    sent = [h for h in ROUTING_HEADERS if headers.get(h) is not None]
    if sent:
        _number(headers, H_MAX_LATENCY)
        _number(headers, H_MAX_COST)
        _header_weights(headers, profiles)
    return sent


TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off")
TASK_LABEL = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


def is_true(v: str | None) -> bool:
    return v is not None and v.strip().lower() in TRUE_VALUES


def header_flag(headers: Mapping[str, str], name: str) -> bool:
    """A boolean header (absent = False); any other value than TRUE_VALUES / FALSE_VALUES
    (case-insensitive) is a 400: a typo in x-lmroute-sensitive must not send a private
    request to a cloud backend."""
    v = headers.get(name)
    if v is None or v.strip().lower() in FALSE_VALUES:
        return False
    if v.strip().lower() in TRUE_VALUES:
        return True
    raise bad_request(f"header {name}: expected one of {', '.join(TRUE_VALUES)} or "
                      f"{', '.join(FALSE_VALUES)}, got {v[:40]!r}.", param=name)


def task_label(headers: Mapping[str, str]) -> str | None:
    """``x-lmroute-task``: a label of at most 64 letters, digits and ``_.:/-`` (it lands in
    the log's ``task`` column, which training groups by), or a 400."""
    v = headers.get(H_TASK)
    if v is None or TASK_LABEL.fullmatch(v):
        return v
    raise bad_request(f"header {H_TASK}: expected a label of 1-64 characters from "
                      f"A-Z a-z 0-9 _ . : / -, got {v[:40]!r}.", param=H_TASK)
