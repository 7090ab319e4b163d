"""The per-request state that flows through the pipeline stages.

Core stages fill the typed fields; a plug-in stage keeps its own state in
``ctx.state[stage.name]`` (no new fields needed), answers without a backend with
``answer_locally`` and changes the messages with ``set_messages`` (which keeps the
budget's prompt-token bound an upper bound and the routed text in step)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from router_model.decision import Decision
from router_model.reward import RewardWeights
from serve.backends.openai_http import CallResult, OpenAIHTTPBackend, StreamHandle
from serve.errors import GatewayError
from serve.jsonfast import dumps
from serve.keys import KeyRecord
from serve.local import LocalAnswer

log = logging.getLogger(__name__)


def header_safe(v: str, limit: int = 200) -> str:
    """``v`` as a header value: printable ASCII, other characters escaped, cut at ``limit``."""
    if v.isascii() and v.isprintable():
        return v[:limit]
    return v.encode("unicode_escape").decode("ascii")[:limit]


@dataclass(slots=True)
class Route:
    """One step of the fallback chain: a model and a backend that serves it."""

    model: str
    backend: OpenAIHTTPBackend


@dataclass(slots=True)
class RequestContext:
    """Everything known about one chat-completion request, filled stage by stage."""

    request_id: str
    raw: bytes
    headers: Mapping[str, str]  # case-insensitive (Starlette Headers) or lower-case keys
    t0: float = field(default_factory=time.perf_counter)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    # admit
    router: Any = None  # the router artifact this request was admitted with (hot swaps)
    artifact: str = ""  # its identity (manifest onnx_sha256), logged in meta.artifact
    body: dict[str, Any] = field(default_factory=dict)
    requested_model: str = ""
    profile: str | None = None  # "lmroute/..." when routed, None for a concrete model
    stream: bool = False
    include_usage: bool = False
    text: str = ""  # the routed text (all message contents, in order)
    max_tokens: int | None = None
    key: KeyRecord | None = None
    sensitive: bool = False
    weights: RewardWeights | None = None
    epsilon: float = 0.0
    task: str | None = None
    ignored_headers: list[str] = field(default_factory=list)  # routing headers, concrete model
    # pre-checks
    prompt_tokens_est: int = 0
    allowed: list[str] = field(default_factory=list)  # router models passing every rule
    # route
    decision: Decision | None = None
    routed_model: str = ""
    propensity: float | None = None
    reason: str = ""
    decision_us: float = 0.0
    chain: list[Route] = field(default_factory=list)
    fallback_backend_used: bool = False
    routed_in_thread: bool = False  # the router ran in the worker thread (not inline)
    load_offset_ms: float = 0.0  # vLLM load added to the routed model's expected latency
    # budget
    budget_day: str = ""
    reserved_usd: float = 0.0
    # call
    answered: Route | None = None
    result: CallResult | None = None
    stream_handle: StreamHandle | None = None
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    ttft_ms: float | None = None
    chunks: int = 0  # streamed content chunks relayed
    # post
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    energy_j: float = 0.0
    error: GatewayError | None = None
    status: int = 200
    in_flight: bool = False  # counted in Gateway.in_flight (pipeline.py)
    completed: bool = False  # the finish stages ran (Pipeline.complete runs them once)
    # plug-ins
    state: dict[str, Any] = field(default_factory=dict)  # per stage: ctx.state[stage.name]
    local: LocalAnswer | None = None  # answered by a stage, no backend call
    body_bytes: int = -1  # len of the re-encoded body once a stage changed it (else raw)
    # the answer as the client received it (after output filters), for finish hooks
    answer_text: str = ""
    answer_complete: bool = False  # ended normally (stream reached [DONE]; a 200 answer)
    extra_headers: dict[str, str] = field(default_factory=dict)  # set by stages
    # work a finish hook put off until the client has the whole response (run_after_response)
    after_response: list[Callable[[], object]] = field(default_factory=list)

    def fail(self, error: GatewayError) -> None:
        """Record the error the request ends with."""
        self.error, self.status = error, error.status

    def answer_locally(self, answer: LocalAnswer) -> None:
        """Complete the request without a backend: route, budget and call are skipped."""
        self.local = answer
        self.extra_headers.update(answer.headers)

    def run_after_response(self) -> None:
        """Run (once) the work stages deferred until the response was sent: the routes
        call it after the last byte (a non-streamed body, or a stream's ``[DONE]``)."""
        work, self.after_response = self.after_response, []
        for fn in work:
            try:
                fn()
            except Exception:
                log.exception("request %s: deferred work failed", self.request_id)

    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        """Replace the messages sent upstream (memory context, redaction): the routed text
        and the byte size behind the budget's prompt-token bound follow."""
        from serve.parse import routing_text

        self.body["messages"] = messages
        self.text = routing_text(messages)
        self.body_bytes = len(dumps(self.body))

    @property
    def prompt_bytes(self) -> int:
        """UTF-8 bytes of the request as it will be sent (raw body unless a stage changed
        it; the larger of the two, so a stage that shortens it keeps the bound safe)."""
        return max(len(self.raw), self.body_bytes)

    def response_headers(self) -> dict[str, str]:
        """The x-lmroute-* headers of the response."""
        h = {"x-request-id": self.request_id,
             # before routing, the model is what the client sent: printable ASCII only
             # (a CR/LF or a non-Latin-1 character in a header made uvicorn drop the
             # connection or answer 500)
             "x-lmroute-model": self.routed_model or header_safe(self.requested_model),
             "x-lmroute-decision-us": f"{self.decision_us:.1f}",
             "x-lmroute-reason": header_safe(self.reason.replace("\n", " "))}
        if self.propensity is not None:
            h["x-lmroute-propensity"] = f"{self.propensity:.6g}"
        if self.ignored_headers:
            h["x-lmroute-ignored-headers"] = ",".join(self.ignored_headers)
        if self.extra_headers:
            h.update(self.extra_headers)
        if self.answered is not None:
            h["x-lmroute-backend"] = self.answered.backend.name
            h["x-lmroute-served-model"] = self.answered.model
        return h
