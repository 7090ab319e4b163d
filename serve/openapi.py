"""The gateway's OpenAPI document, served at ``GET /openapi.json``.

The chat route is a plain Starlette route (serve/routes.py), so FastAPI's generated schema
would not describe it; the document is written by hand instead, in ``openapi.yaml`` beside
this file, and completed here with what depends on the running gateway: the model names a
client may send, the body-size and nesting limits (``x-lmroute-max-body-bytes``,
``x-lmroute-max-depth``: the number of the setting or constant each names), the API-key
requirement when auth is on, and the admin paths only when the admin key is configured
(without it they do not exist: 404).

The reliability fuzzer (tests/reliability/) tests every path of this document, so a new
endpoint is covered by adding it to ``openapi.yaml``.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from serve.admin import MAX_BODY_BYTES as ADMIN_BODY_BYTES
from serve.body_rules import MAX_JSON_DEPTH
from serve.jsonfast import dumps
from serve.settings import ServeSettings
from serve.stages.memory_http import MAX_BODY as MEMORY_BODY_BYTES

TEMPLATE = Path(__file__).with_name("openapi.yaml")
# limits named by the document's x-lmroute-* extensions that are constants, not settings
LIMITS: dict[str, int] = {"json_depth": MAX_JSON_DEPTH, "admin_body_bytes": ADMIN_BODY_BYTES,
                          "memory_body_bytes": MEMORY_BODY_BYTES}
LIMIT_KEYS = ("x-lmroute-max-body-bytes", "x-lmroute-max-depth")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@functools.cache
def template() -> dict[str, Any]:
    """The static document (parsed once)."""
    doc = yaml.safe_load(TEMPLATE.read_text())
    assert isinstance(doc, dict)
    return doc


def _limit(name: Any, settings: ServeSettings) -> int:
    if isinstance(name, int):
        return name
    if name in LIMITS:
        return LIMITS[name]
    value = getattr(settings, str(name), None)
    if not isinstance(value, int):
        raise ValueError(f"openapi.yaml: limit {name!r} is neither a constant of "
                         "serve.openapi.LIMITS nor an integer ServeSettings field")
    return value


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of ``doc``, in document order."""
    return [(path, m, item[m]) for path, item in doc["paths"].items()
            for m in METHODS if m in item]


def build_document(settings: ServeSettings, models: list[str], admin: bool
                   ) -> dict[str, Any]:
    """The document of a gateway with these settings.

    Args:
        settings: the gateway's settings (limits, auth).
        models: the names a client may put in ``model`` (profiles, then models).
        admin: whether the admin endpoints exist (the admin key env var is set).
    """
    doc = copy.deepcopy(template())
    if not admin:
        doc["paths"] = {p: item for p, item in doc["paths"].items()
                        if not item.get("x-lmroute-admin")}
    for _, _, op in operations(doc):
        for key in LIMIT_KEYS:
            if key in op:
                op[key] = _limit(op[key], settings)
    if settings.auth.enabled:  # the routes that take the API key
        for path, _, op in operations(doc):
            if path.startswith(("/v1/chat/", "/v1/guard", "/v1/memory/")):
                op["security"] = [{"apiKey": []}]
    if models:
        schemas = doc["components"]["schemas"]
        schemas["ChatRequest"]["properties"]["model"]["enum"] = list(models)
    return doc


def admin_enabled(settings: ServeSettings) -> bool:
    """The admin endpoints exist (serve/admin.py: 404 without the key)."""
    return bool(os.environ.get(settings.admin.key_env))


async def openapi_json(request: Request) -> Response:
    """``GET /openapi.json``: this gateway's document."""
    gw = request.app.state.gateway
    doc = build_document(gw.settings, gw.served_models(), admin_enabled(gw.settings))
    return Response(dumps(doc), media_type="application/json")
