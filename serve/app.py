"""The app factory: ``create_app(settings)`` -> FastAPI app. All state (router, backends,
embedded llama.cpp server, logs, key store) is created in the lifespan, hung on
``app.state`` and closed at shutdown (logs flushed, subprocesses stopped)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from serve.admin import admin_router
from serve.errors import GatewayError
from serve.gateway import Gateway, RouterLike, load_router
from serve.openapi import openapi_json
from serve.pipeline import Pipeline
from serve.routes import error_response, router
from serve.settings import ServeSettings
from serve.stages.guard_http import guard_router
from serve.stages.memory_http import memory_router

log = logging.getLogger(__name__)


def create_app(settings: ServeSettings, router_obj: RouterLike | None = None,
               pipeline: Pipeline | None = None) -> FastAPI:
    """Build the gateway app.

    Args:
        settings: validated settings.
        router_obj: an already loaded router (tests); default: load ``settings.router``.
        pipeline: a custom stage pipeline; default: ``stages.default_pipeline()``.
    """
    settings.validate()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        r = router_obj if router_obj is not None else load_router(settings.router)
        gw = Gateway(settings, r, Path(settings.log.dir).parent, pipeline)
        app.state.gateway = gw
        await gw.start()
        log.info("lmroute gateway ready: profiles %s, models %s, live %s",
                 list(settings.profiles), gw.pool.models, sorted(gw.pool.live_models()))
        try:
            yield
        finally:
            await gw.close()
            log.info("lmroute gateway stopped")

    app = FastAPI(title="lmroute gateway", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(guard_router)  # POST /v1/guard (404 unless the guard stage is on)
    app.include_router(memory_router)  # /v1/memory/* (404 unless the memory stage is on)
    app.add_route("/openapi.json", openapi_json, methods=["GET"])  # serve/openapi.yaml
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return error_response(GatewayError(exc.status_code, str(exc.detail),
                                           code="not_found" if exc.status_code == 404 else None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return error_response(GatewayError(400, f"invalid request: {exc.errors()[:3]}"))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> Response:
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=499)  # nobody reads it; nginx's "client closed request"

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(GatewayError(500, "internal server error", type_="server_error",
                                           code="internal_error"))
