"""Admin endpoints: the router's hot swap.

``POST /admin/router {"path": DIR, "allow_model_change": false}`` loads the artifact at
``DIR`` in a worker thread, verifies it (hashes, embedded manifest, tokenizer; the same
models as the router serving now unless allowed; one warm-up decision) and swaps it in
atomically; in-flight requests finish on the router that admitted them, and every log row
names its artifact (``meta.artifact``). Any failure leaves the old router serving and is
answered 409 with the reason (``error``: an OpenAI-style error object, code
``router_refused``). ``GET /admin/router`` describes the router serving now.

With ``state.router_sync: redis`` the swap then reaches every replica
(``serve/state/router_sync.py``: each loads and verifies the artifact itself); the answer
waits up to ``state.swap_wait_s`` and lists every replica's artifact (``fleet``), and GET
shows the fleet too.

Both need ``Authorization: Bearer <key>`` where the key is the value of the env var
``admin.key_env`` (default ``LMROUTE_ADMIN_KEY``); without that variable they do not exist
(404), so an unconfigured gateway exposes no admin surface.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from serve.body_limit import read_body
from serve.errors import GatewayError, bad_request, unauthorized
from serve.jsonfast import loads
from serve.router_slot import SwapError, load_checked

log = logging.getLogger(__name__)
admin_router = APIRouter()
MAX_BODY_BYTES = 4096  # POST /admin/router: {"path": ..., "allow_model_change": ...}


def _token_ok(request: Request, key: str) -> bool:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    return hmac.compare_digest(token.encode(), key.encode())


def is_admin(request: Request) -> bool:
    """Does the request carry the admin key (and is admin configured)?"""
    key = os.environ.get(request.app.state.gateway.settings.admin.key_env, "")
    return bool(key) and _token_ok(request, key)


def _check_admin(request: Request) -> Any:
    gw = request.app.state.gateway
    key = os.environ.get(gw.settings.admin.key_env, "")
    if not key:
        raise GatewayError(404, "Not Found", code="not_found")
    if not _token_ok(request, key):
        raise unauthorized("admin endpoints need 'Authorization: Bearer <admin key>'")
    return gw


@admin_router.get("/admin/router")
async def current_router(request: Request) -> Response:
    gw = _check_admin(request)
    out = gw.slot.describe()
    sync = gw.state.router_sync
    if sync is not None:
        try:
            out["fleet"] = {"replicas": await sync.fleet(), **sync.describe()}
        except Exception as exc:  # Redis unreachable: this replica's view only
            out["fleet"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return JSONResponse(out)


@admin_router.post("/admin/router")
async def swap_router(request: Request) -> Response:
    gw = _check_admin(request)
    try:
        body = loads(await read_body(request, MAX_BODY_BYTES, "Admin body"))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise bad_request("Request body: expected a JSON object {\"path\": DIR}",
                          code="invalid_json")
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise bad_request("'path': expected the router artifact directory", param="path")
    allow = body.get("allow_model_change", gw.settings.admin.allow_model_change)
    if not isinstance(allow, bool):  # bool("no") is True: never guess a permission
        raise bad_request("'allow_model_change': expected a boolean",
                          param="allow_model_change")
    async with gw.swap_lock:  # one swap at a time
        try:
            new = await asyncio.to_thread(load_checked, path, gw.slot, allow)
        except SwapError as exc:
            log.warning("router hot swap refused (old router keeps serving): %s", exc)
            err = GatewayError(409, str(exc), code="router_refused", param="path")
            return JSONResponse({"swapped": False, **err.body(),
                                 "current": gw.slot.describe()}, status_code=409)
        previous = gw.slot.swap(new, path)
    out = {"swapped": True, "previous_artifact": previous.artifact or None,
           "current": gw.slot.describe()}
    if gw.state.router_sync is not None:
        out["fleet"] = await _publish(gw, path, allow)
    return JSONResponse(out)


async def _publish(gw: Any, path: str, allow: bool) -> dict[str, Any]:
    """Make the swap the fleet's; wait for every replica (``state.swap_wait_s``)."""
    sync, artifact = gw.state.router_sync, gw.slot.current()[1]
    try:
        fr = await sync.publish(path, artifact, allow)
        waited = await sync.wait_fleet(artifact, gw.settings.state.swap_wait_s)
    except Exception as exc:  # Redis unreachable: this replica swapped, the others did not
        log.error("router swap not published to the other replicas: %s", exc)
        return {"published": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"published": True, "seq": fr.seq, **waited}
