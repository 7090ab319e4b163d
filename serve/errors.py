"""OpenAI-style errors: one exception type carrying the HTTP status and the error body.

Body layout (as the OpenAI API and its Python client expect)::

    {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": "..."}}
"""

from __future__ import annotations

import json
from typing import Any


class GatewayError(Exception):
    """An error that becomes an HTTP response; never a traceback."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type,
                          "param": self.param, "code": self.code}}

    def json_bytes(self) -> bytes:
        return json.dumps(self.body()).encode()


def bad_request(message: str, *, code: str = "invalid_request", param: str | None = None
                ) -> GatewayError:
    return GatewayError(400, message, code=code, param=param)


def model_not_found(model: str) -> GatewayError:
    shown = repr(model[:100]) + (f" (+{len(model) - 100} chars)" if len(model) > 100 else "")
    return GatewayError(404, f"The model {shown} does not exist: use lmroute/auto, a routing "
                        "profile, or a model listed by GET /v1/models.",
                        code="model_not_found", param="model")


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, type_="authentication_error", code="invalid_api_key")


def forbidden(message: str) -> GatewayError:
    return GatewayError(403, message, type_="permission_error", code="model_not_allowed",
                        param="model")


def budget_exceeded(message: str) -> GatewayError:
    return GatewayError(429, message, type_="insufficient_quota", code="budget_exceeded")


def no_backend(message: str, retry_after_s: float | None = None) -> GatewayError:
    headers = {"retry-after": str(max(1, round(retry_after_s)))} if retry_after_s else {}
    return GatewayError(503, message, type_="service_unavailable", code="no_backend",
                        headers=headers)


def upstream_failed(message: str) -> GatewayError:
    return GatewayError(502, message, type_="upstream_error", code="backend_failed")
