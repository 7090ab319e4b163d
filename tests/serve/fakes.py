"""Test-only stand-ins: an OpenAI-compatible fake backend whose per-model latency,
failures and token counts the test controls; a stub router with the Router API and
exact epsilon-greedy propensities; a uvicorn server running in a thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from router_model.decision import Decision
from router_model.reward import RewardWeights
from serve.net import free_port

# one pooled client for the tests (a fresh httpx client per call costs ~0.1 s of SSL setup)
HTTP = httpx.Client(timeout=30.0)


@dataclass
class ModelBehaviour:
    delay_s: float = 0.0
    fail_next: int = 0  # the next N calls fail with `fail_status`
    fail_always: bool = False
    fail_status: int = 500
    completion_tokens: int = 5
    reject_status: int | None = None  # answer a 4xx (client error) instead
    hang_s: float = 0.0  # sleep this long before answering (timeouts)
    chunk_delay_s: float = 0.0  # streaming: sleep this long before each chunk
    # a scripted fault: "html" (200 text/html), "cut" (stream closed after 2 chunks),
    # "stall" (stream stops after the first chunk), "garbage_sse" (non-JSON data events),
    # "garbage_mid" (a valid first chunk, then a non-JSON event), "leaky500" (a 500 whose
    # body holds a traceback and a secret)
    fault: str | None = None
    reply: str | None = None  # answer this text (split at spaces into chunks) instead of w0 w1 ...


@dataclass
class FakeControl:
    """Per upstream model behaviour + a record of the calls received."""

    models: dict[str, ModelBehaviour] = field(default_factory=lambda: defaultdict(ModelBehaviour))
    calls: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)  # Authorization header per call
    agents: list[str | None] = field(default_factory=list)  # User-Agent header per call

    def reset(self) -> None:
        self.models.clear()
        self.calls.clear()
        self.auth.clear()
        self.agents.clear()

    def count(self, model: str) -> int:
        return sum(1 for c in self.calls if c["model"] == model)


def _completion(model: str, text: str, n_out: int, prompt_tokens: int) -> dict[str, Any]:
    return {"id": "upstream-1", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n_out,
                      "total_tokens": prompt_tokens + n_out}}


def fake_backend_app(control: FakeControl) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": []}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        model = body["model"]
        control.calls.append(body)
        control.auth.append(request.headers.get("authorization"))
        control.agents.append(request.headers.get("user-agent"))
        b = control.models[model]
        if b.hang_s:
            await asyncio.sleep(b.hang_s)
        if b.delay_s:
            await asyncio.sleep(b.delay_s)
        if b.reject_status:
            return JSONResponse({"error": {"message": f"{model} rejects this"}},
                                status_code=b.reject_status)
        if b.fault is not None and (early := _fault_response(b.fault)) is not None:
            return early
        if b.fail_always or b.fail_next > 0:
            b.fail_next = max(0, b.fail_next - 1)
            return JSONResponse({"error": {"message": "boom"}}, status_code=b.fail_status)
        n_out = min(b.completion_tokens, body.get("max_tokens") or b.completion_tokens)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        words = b.reply.split(" ") if b.reply is not None else [f"w{i}" for i in range(n_out)]
        if not body.get("stream"):
            return JSONResponse(_completion(model, " ".join(words), n_out, prompt_tokens))
        gen = (_faulty_stream(model, b.fault) if b.fault else
               _stream(model, words, prompt_tokens, body, b.chunk_delay_s))
        return StreamingResponse(gen, media_type="text/event-stream")

    return app


LEAKY_BODY = "Traceback (most recent call last): File \"/srv/app.py\" SECRET_TOKEN=sk-live-123"


def _fault_response(fault: str) -> Response | None:
    if fault == "html":
        return Response("<html><body>Bad Gateway</body></html>", media_type="text/html")
    if fault == "leaky500":
        return Response(LEAKY_BODY, status_code=500, media_type="text/plain")
    return None


async def _faulty_stream(model: str, fault: str):
    base = {"id": "upstream-1", "object": "chat.completion.chunk", "created": 0, "model": model}
    first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "w0"},
                                  "finish_reason": None}]}
    if fault == "garbage_sse":
        yield "data: this is not json\n\n"
        yield "data: [DONE]\n\n"
        return
    yield f"data: {json.dumps(first)}\n\n"
    if fault == "garbage_mid":
        yield "data: {not json\n\n"
        yield "data: [DONE]\n\n"
        return
    if fault == "stall":
        await asyncio.sleep(60)
    second = {**base, "choices": [{"index": 0, "delta": {"content": " w1"},
                                   "finish_reason": None}]}
    yield f"data: {json.dumps(second)}\n\n"
    raise RuntimeError("connection cut mid-stream")  # uvicorn drops the connection


async def _stream(model: str, words: list[str], prompt_tokens: int, body: dict[str, Any],
                  chunk_delay_s: float = 0.0):
    base = {"id": "upstream-1", "object": "chat.completion.chunk", "created": 0, "model": model}
    usage = (body.get("stream_options") or {}).get("include_usage")
    for i, w in enumerate(words):
        await asyncio.sleep(chunk_delay_s)
        delta = {"role": "assistant", "content": w} if i == 0 else {"content": " " + w}
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        if usage:
            chunk["usage"] = None
        yield f"data: {json.dumps(chunk)}\n\n"
    stop = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(stop)}\n\n"
    if usage:
        u = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
             "total_tokens": prompt_tokens + len(words)}
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': u})}\n\n"
    yield "data: [DONE]\n\n"


class StubRouter:
    """Router API stand-in: fixed per-model quality and cost, epsilon-greedy over allowed.

    utility(m) = quality[m] - w_cost * cost[m] - w_latency * latency_offset_ms[m] (the
    offsets, when given, in ``models`` order); exploration propensities are exact:
    1 - eps + eps/K for the argmax, eps/K otherwise (K = number of allowed models).
    """

    def __init__(self, quality: dict[str, float], cost: dict[str, float]) -> None:
        self.models = list(quality)
        self.quality = quality
        self.cost = cost
        self.manifest: dict[str, Any] = {"models": self.models, "profiles": {}}
        self.calls: list[dict[str, Any]] = []

    def route(self, text: str, weights: RewardWeights | None = None,
              allowed: Sequence[str] | None = None, epsilon: float = 0.0,
              rng: np.random.Generator | None = None, *,
              latency_offset_ms: Sequence[float] | None = None) -> Decision:
        t0 = time.perf_counter()
        w = weights or RewardWeights()
        allowed = list(allowed) if allowed is not None else self.models
        offsets = list(latency_offset_ms) if latency_offset_ms is not None else None
        self.calls.append({"text": text, "weights": w, "allowed": allowed, "epsilon": epsilon,
                           "latency_offset_ms": offsets})
        base = {m: (self.quality[m] - w.w_cost * self.cost[m]) if m in allowed else -1e30
                for m in self.models}
        util = {m: u - w.w_latency * offsets[i] if offsets and m in allowed else u
                for i, (m, u) in enumerate(base.items())}
        best = max(allowed, key=lambda m: util[m])
        k = len(allowed)
        moved = best != max(allowed, key=lambda m: base[m])
        choice, reason = best, "argmax utility (load-adjusted)" if moved else "argmax utility"
        if epsilon > 0 and (rng or np.random.default_rng()).random() < epsilon:
            choice = allowed[int((rng or np.random.default_rng()).integers(k))]
            reason = "explore"
        p = (1 - epsilon + epsilon / k) if choice == best else epsilon / k
        return Decision(choice, self.models.index(choice), p,
                        (time.perf_counter() - t0) * 1e6, reason, util, dict(self.quality))


class ThreadServer:
    """Run an ASGI app with uvicorn in a background thread (lifespan included)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_keep_alive=30,
                                lifespan="on", loop="asyncio", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
