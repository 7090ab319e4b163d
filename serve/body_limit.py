"""Read a request body with a byte limit, without ever holding more than the limit.

A ``content-length`` over the limit is refused before reading; a chunked body is read
piece by piece and refused as soon as it passes the limit (413, OpenAI-style error).
"""

from __future__ import annotations

from starlette.requests import Request

from serve.errors import GatewayError


def too_large(size: int | str, limit: int, what: str) -> GatewayError:
    return GatewayError(413, f"{what} is {size} bytes; the limit is {limit}.",
                        code="request_too_large")


async def read_body(request: Request, limit: int, what: str = "Request body") -> bytes:
    """The whole body (<= ``limit`` bytes) or a 413 ``GatewayError``."""
    cl = request.headers.get("content-length")
    if cl is not None and cl.isdigit() and int(cl) > limit:
        raise too_large(cl, limit, what)
    parts: list[bytes] = []
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise too_large(f"more than {limit}", limit, what)
        parts.append(chunk)
    return b"".join(parts)
