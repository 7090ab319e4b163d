"""Client for any OpenAI-compatible ``/chat/completions`` endpoint (vLLM, llama.cpp
server, SGLang, LMDeploy, Ollama, hosted APIs).

One pooled ``aiohttp.ClientSession`` (keep-alive) is shared by all backends. It
replaced ``httpx.AsyncClient``: httpcore's pool scans every pooled connection (with a
``poll`` syscall each) on every request, which capped the gateway at ~50 requests/s at
50 concurrent clients on 2 cores (profiled: 2.7 M ``is_idle`` calls per 1,000 requests).
Non-streaming calls to a plain ``http://`` backend go through ``fast_http`` instead (the
hot path: ~230 us less per call than aiohttp), unless the backend sets
``http_client: aiohttp``.
Each call retries retryable failures (connection errors, timeouts, 408/429/5xx) with
exponential backoff and full jitter; a streaming call retries only before its first byte.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from serve.backends.fast_http import Endpoint, FastHTTPClient
from serve.backends.health import BackendHealth
from serve.jsonfast import dumps, loads
from serve.settings import BackendSettings

T = TypeVar("T")
log = logging.getLogger(__name__)
USER_AGENT = "lmroute-gateway"  # fast_http's; aiohttp sends its own
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class BackendError(Exception):
    """A failed backend call. ``client_error`` = the upstream rejected the request (4xx):
    not the backend's fault, not retried, passed back to the caller.

    ``str(exc)`` is the full account for the decision log and the server log (it may quote
    the upstream's body or name its host:port); ``public`` is what a client may see: the
    backend's name and the kind of failure, never upstream bytes or addresses."""

    def __init__(self, message: str, *, status: int | None = None,
                 client_error: bool = False, body: bytes = b"", public: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.client_error = client_error
        self.body = body
        self.public = public or message


@dataclass
class CallResult:
    """A finished non-streaming call."""

    doc: dict[str, Any]  # the upstream JSON response (forwarded with the gateway's id)
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    attempts: int


@dataclass
class StreamHandle:
    """An open streaming call whose first event has arrived and is a JSON chunk
    (``open_stream`` checks both); ``events`` yields SSE ``data:`` payloads (bytes),
    that first one included."""

    response: aiohttp.ClientResponse
    attempts: int
    started: float  # perf_counter() when the first attempt began
    usage: dict[str, int] = field(default_factory=dict)
    first: bytes = b""  # the first data payload (read by ``peek``)
    first_at: float = 0.0  # perf_counter() when it arrived
    _it: AsyncIterator[bytes] | None = field(default=None, repr=False)

    async def _data(self) -> AsyncIterator[bytes]:
        async for line in self.response.content:
            if line.startswith(b"data:"):
                yield line[5:].strip()

    async def peek(self, name: str) -> None:
        """Read the first data event; a backend that sends none, or one that is not a
        JSON chunk (an error object, HTML, garbage), fails here, before the client has
        seen anything, so the call can be retried or fall back."""
        ct = self.response.headers.get("content-type", "")
        if "text/event-stream" not in ct:
            raise BackendError(f"backend {name!r} answered a stream request with HTTP "
                               f"{self.response.status} {ct or 'no content-type'}, not SSE",
                               public=f"backend {name!r} did not answer with an SSE stream")
        self._it = self._data()
        async for data in self._it:
            self.first, self.first_at = data, time.perf_counter()
            break
        else:
            raise BackendError(f"backend {name!r} ended the stream before its first event",
                               public=f"backend {name!r} sent an empty stream")
        doc = _json_or_none(self.first)
        if not isinstance(doc, dict) or "error" in doc:
            raise BackendError(f"backend {name!r} sent a first stream event that is not a "
                               f"chunk: {self.first[:200]!r}",
                               public=f"backend {name!r} sent an invalid stream event")

    async def events(self) -> AsyncIterator[bytes]:
        """The data payloads, from the first (peeked) one on."""
        yield self.first
        assert self._it is not None, "peek() first"
        async for data in self._it:
            yield data

    async def aclose(self) -> None:
        """Release the connection when the stream was read to its end; otherwise close it,
        which also tells the backend to stop generating for a client that left."""
        if self.response.content.is_eof():
            self.response.release()
        else:
            self.response.close()


class OpenAIHTTPBackend:
    """One backend endpoint with its profile, retry policy and health."""

    def __init__(self, settings: BackendSettings, client: aiohttp.ClientSession,
                 api_key: str | None, rng: random.Random | None = None,
                 fast: FastHTTPClient | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.client = client
        self.fast = fast if settings.http_client == "fast" else None
        self._endpoint: tuple[str, Endpoint | None] = ("", None)  # (url, parsed if http://)
        self.base_url = settings.base_url.rstrip("/")
        self.health = BackendHealth(settings.cooldown_after, settings.cooldown_s)
        self._rng = rng or random.Random()
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s,
                                              sock_connect=settings.connect_timeout_s)
        # a stream may run long: bound the wait for each read instead of the total
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_read=settings.timeout_s,
                                                     sock_connect=settings.connect_timeout_s)
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._raw_headers = "".join(f"{k}: {v}\r\n" for k, v in
                                    {**self._headers, "user-agent": USER_AGENT}.items()).encode()

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def fast_endpoint(self) -> Endpoint | None:
        """The parsed URL when non-streaming calls take ``fast_http`` (an http:// URL and
        ``http_client: fast``), else None. Re-parsed only when ``base_url`` changes (an
        embedded server sets it at start)."""
        url = self.url
        if self._endpoint[0] != url:
            try:
                ep = Endpoint.parse(url) if self.fast is not None else None
            except ValueError:
                ep = None  # https or unusual: aiohttp
            self._endpoint = (url, ep)
        return self._endpoint[1]

    async def _post(self, content: bytes) -> tuple[int, bytes]:
        """One non-streaming POST: (status, body)."""
        ep = self.fast_endpoint()
        if ep is not None and self.fast is not None:
            res = await self.fast.post(ep, self._raw_headers, content, self.settings.timeout_s,
                                       self.settings.connect_timeout_s)
            return res.status, res.body
        async with self.client.post(self.url, data=content, headers=self._headers,
                                    timeout=self._timeout) as resp:
            return resp.status, await resp.read()

    def backoff_s(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry ``attempt`` (1-based)."""
        cap = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, cap)

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        s = self.settings
        return (prompt_tokens * s.price_in_per_mtok
                + completion_tokens * s.price_out_per_mtok) / 1e6

    def energy_j(self, prompt_tokens: int, completion_tokens: int) -> float:
        return self.settings.j_per_token * (prompt_tokens + completion_tokens)

    def expected_latency_ms(self, completion_tokens: int) -> float:
        """The profile's latency of a call: ttft + tpot * completion tokens."""
        return self.settings.ttft_ms + self.settings.tpot_ms * completion_tokens

    def _payload(self, body: dict[str, Any], stream: bool) -> bytes:
        payload = {**body, "model": self.settings.model, "stream": stream}
        if stream:
            payload["stream_options"] = {"include_usage": True}
        else:
            payload.pop("stream_options", None)
        return dumps(payload)

    async def _retrying(self, once: Callable[[int], Awaitable[T]]) -> T:
        """Run ``once(attempt)`` until it succeeds, fails with a client error, or the
        retries (exponential backoff + jitter) run out. Raises ``BackendError``."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await once(attempt)
            except (aiohttp.ClientError, OSError, TimeoutError, BackendError, ValueError) as exc:
                err = _as_backend_error(exc, self.name)
                if err.client_error or attempt > self.settings.max_retries:
                    raise err from exc
                await asyncio.sleep(self.backoff_s(attempt))

    async def complete(self, body: dict[str, Any]) -> CallResult:
        """Non-streaming call with retries. Raises ``BackendError``."""
        content = self._payload(body, stream=False)
        t0 = time.perf_counter()

        async def once(attempt: int) -> CallResult:
            status, raw = await self._post(content)
            _raise_for(status, raw, self.name)
            doc = loads(raw)
            if not is_completion(doc):  # a 200 that is no answer must not count as one
                raise ValueError(f"not a chat completion: {raw[:120]!r}")
            usage = _usage(doc)
            return CallResult(doc, usage.get("prompt_tokens", 0),
                              usage.get("completion_tokens", 0),
                              (time.perf_counter() - t0) * 1e3, attempt)

        return await self._retrying(once)

    async def open_stream(self, body: dict[str, Any]) -> StreamHandle:
        """Start a streaming call: retried (and, in the call stage, fallen back from)
        until a response with a valid first SSE chunk arrives."""
        content = self._payload(body, stream=True)
        t0 = time.perf_counter()

        async def once(attempt: int) -> StreamHandle:
            resp = await self.client.post(self.url, data=content, headers=self._headers,
                                          timeout=self._stream_timeout)
            handle = StreamHandle(resp, attempt, t0)
            try:
                if resp.status >= 400:
                    _raise_for(resp.status, await resp.read(), self.name)
                await handle.peek(self.name)
            except BaseException:
                resp.close()
                raise
            return handle

        return await self._retrying(once)


def is_completion(doc: Any) -> bool:
    """A ``chat.completion``: an object whose ``choices`` is a non-empty list of objects
    each holding a ``message`` object."""
    choices = doc.get("choices") if isinstance(doc, dict) else None
    return (isinstance(choices, list) and bool(choices)
            and all(isinstance(c, dict) and isinstance(c.get("message"), dict)
                    for c in choices))


def _json_or_none(data: bytes) -> Any:
    try:
        return loads(data)
    except ValueError:
        return None


def _usage(doc: Any) -> dict[str, int]:
    usage = doc.get("usage") if isinstance(doc, dict) else None
    if not isinstance(usage, dict):
        return {}
    return {k: int(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens")}


def _raise_for(status: int, body: bytes, name: str) -> None:
    if status < 400:
        return
    snippet = body[:300].decode(errors="replace")
    raise BackendError(f"backend {name!r} answered HTTP {status}: {snippet}", status=status,
                       client_error=status not in RETRYABLE_STATUS and status < 500, body=body,
                       public=f"backend {name!r} answered HTTP {status}")


def _as_backend_error(exc: Exception, name: str) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, TimeoutError):
        return BackendError(f"backend {name!r} timed out ({type(exc).__name__})")
    if isinstance(exc, ValueError):
        return BackendError(f"backend {name!r} returned an invalid response: {exc}",
                            public=f"backend {name!r} returned an invalid response")
    return BackendError(f"backend {name!r} unreachable: {type(exc).__name__}: {exc}",
                        public=f"backend {name!r} unreachable ({type(exc).__name__})")
