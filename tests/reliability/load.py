"""A closed-loop load generator for the crash test and the soak: ``clients`` threads, each
sending chat requests back to back (streamed or not, profiles mixed), now and then a
feedback score for a request it got. Every answer is recorded with its request id and
the time it completed, so a crash test can tell which acknowledged rows were lost."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

PROFILES = ("lmroute/auto", "lmroute/cheap", "lmroute/balanced", "lmroute/quality")
PROMPTS = ("Write a haiku about the sea", "What is 17 * 23?", "Summarise the plot of Hamlet",
           "Translate 'good morning' to French", "Explain TCP slow start in two lines")


@dataclass
class Answer:
    rid: str
    done: float  # time.monotonic() when the answer was complete
    latency_s: float
    stream: bool
    status: int


@dataclass
class LoadResult:
    answers: list[Answer] = field(default_factory=list)
    feedback: list[tuple[str, float]] = field(default_factory=list)  # (rid, done)
    errors: list[str] = field(default_factory=list)  # transport errors (after a kill)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _one(client: httpx.Client, url: str, rng: random.Random, stream_share: float,
         headers: dict[str, str]) -> Answer:
    stream = rng.random() < stream_share
    body = {"model": rng.choice(PROFILES), "stream": stream, "max_tokens": 16,
            "messages": [{"role": "user", "content": rng.choice(PROMPTS)}]}
    t0 = time.monotonic()
    with client.stream("POST", f"{url}/v1/chat/completions", json=body,
                       headers=headers) as r:
        data = r.read()
    if stream and r.status_code == 200 and not data.endswith(b"data: [DONE]\n\n"):
        raise httpx.ReadError("stream ended without [DONE]")
    done = time.monotonic()
    return Answer(r.headers.get("x-request-id", ""), done, done - t0, stream, r.status_code)


def _client_loop(url: str, seed: int, stop: threading.Event, res: LoadResult,
                 stream_share: float, feedback_share: float,
                 headers: dict[str, str]) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            try:
                a = _one(client, url, rng, stream_share, headers)
                with res.lock:
                    res.answers.append(a)
                if a.status == 200 and rng.random() < feedback_share:
                    r = client.post(f"{url}/v1/feedback", headers=headers,
                                    json={"request_id": a.rid, "quality": rng.random()})
                    if r.status_code == 200:
                        with res.lock:
                            res.feedback.append((a.rid, time.monotonic()))
            except httpx.HTTPError as exc:
                with res.lock:
                    res.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)


class Load:
    """``with Load(url, clients=8): ...`` runs the clients until the block ends. ``headers``:
    one dict for every client, or a list (client ``i`` sends ``headers[i % len]``: one API
    key per client, say)."""

    def __init__(self, url: str, clients: int = 8, stream_share: float = 0.4,
                 feedback_share: float = 0.2,
                 headers: dict[str, str] | list[dict[str, str]] | None = None) -> None:
        self.result = LoadResult()
        self.stop = threading.Event()
        per = headers if isinstance(headers, list) else [headers or {}]
        self.threads = [threading.Thread(target=_client_loop, daemon=True, args=(
            url, i, self.stop, self.result, stream_share, feedback_share, per[i % len(per)]))
            for i in range(clients)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
