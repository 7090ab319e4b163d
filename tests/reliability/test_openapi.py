"""The gateway's OpenAPI document: served at GET /openapi.json, valid, complete (every
route of the app is in it, so the fuzzer, which tests every path of the document, covers
every endpoint), and filled in from the gateway's own settings."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.core.result import Ok

from serve.app import create_app
from serve.openapi import build_document, operations
from serve.settings import settings_from_dict
from tests.serve.conftest import base_settings, control, fake_backend, gateway  # noqa: F401
from tests.serve.fakes import HTTP


def _settings(tmp_path, **kw):
    return settings_from_dict(base_settings("http://127.0.0.1:9/v1", tmp_path / "logs", **kw))


def _routes(routes: list) -> set[tuple[str, str]]:
    """(path, method) of every route, included routers walked into."""
    out: set[tuple[str, str]] = set()
    for r in routes:
        inner = getattr(r, "original_router", None) or getattr(r, "routes", None)
        if inner is not None and not hasattr(r, "path"):
            out |= _routes(getattr(inner, "routes", inner))
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD":
                out.add((r.path, m.lower()))
    return out


def test_every_route_of_the_app_is_in_the_document(tmp_path) -> None:
    settings = _settings(tmp_path)
    routes = _routes(create_app(settings).routes)
    doc = build_document(settings, ["lmroute/auto"], admin=True)
    documented = {(p, m) for p, m, _ in operations(doc)}
    assert routes and routes <= documented, f"routes missing from openapi.yaml: " \
                                            f"{sorted(routes - documented)}"
    assert documented <= routes, f"documented but not served: {sorted(documented - routes)}"


def test_the_document_is_valid_openapi_and_holds_the_limits(tmp_path) -> None:
    settings = _settings(tmp_path, max_request_bytes=123_456, auth={"enabled": True})
    doc = build_document(settings, ["lmroute/auto", "m-mid"], admin=False)
    results = list(schemathesis.openapi.from_dict(doc).get_all_operations())
    assert results and all(isinstance(r, Ok) for r in results), results
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    assert chat["x-lmroute-max-body-bytes"] == 123_456 and chat["x-lmroute-max-depth"] == 64
    assert chat["security"] == [{"apiKey": []}]
    assert doc["components"]["schemas"]["ChatRequest"]["properties"]["model"]["enum"] == \
        ["lmroute/auto", "m-mid"]
    assert "/admin/router" not in doc["paths"]  # no admin key: no admin surface


def test_served_at_openapi_json(gateway, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("LMROUTE_ADMIN_KEY", "k")
    doc = HTTP.get(f"{gateway()}/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/admin/router" in doc["paths"]
    models = doc["components"]["schemas"]["ChatRequest"]["properties"]["model"]["enum"]
    assert "lmroute/auto" in models and "m-mid" in models
