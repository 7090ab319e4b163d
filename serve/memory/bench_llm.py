"""The LLM summarizer's cost: SmolLM2-135M-Instruct (Q4_1) in the embedded llama.cpp
server on N CPU threads. Prompt and generation speed come from the server's own timing
lines (llama.cpp's ``prompt eval time`` / ``eval time``); compaction seconds are wall
time of one detailed summary (ten turns) and one broad merge."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

from serve.memory.summarizers.base import SourceItem
from serve.memory.summarizers.chat import EmbeddedServer, HttpChatClient
from serve.memory.summarizers.llm import LLMSummarizer

_PERF = re.compile(r"(prompt eval|\s eval) time =\s+([\d.]+) ms /\s+(\d+) (tokens|runs)")
TURNS = ["Caroline: I went to a support group yesterday and it was so powerful.",
         "Melanie: That's great! I painted a sunrise by the lake last week with my kids.",
         "Caroline: I'm thinking of studying psychology and getting a counseling certificate.",
         "Melanie: You'd be great at that. We are going camping at the beach in June.",
         "Caroline: My friends from Sweden are visiting in July; we have known each other 4 years.",
         "Melanie: I started violin lessons again, my teacher is very patient.",
         "Caroline: I read 'Becoming Nicole' by Amy Ellis Nutt, it inspired me a lot.",
         "Melanie: My son broke his arm playing football, he is fine now.",
         "Caroline: I signed up for a charity run for mental health on 20 May.",
         "Melanie: The pottery class on Tuesdays helps me relax after work."]


def _perf(log: Path, since: int) -> dict[str, float]:
    """Sum the server's timing lines written after byte ``since`` of its log."""
    text = log.read_bytes()[since:].decode(errors="replace")
    out = {"prompt_ms": 0.0, "prompt_tokens": 0.0, "eval_ms": 0.0, "eval_tokens": 0.0}
    for kind, ms, n, _ in _PERF.findall(text):
        key = "prompt" if kind.startswith("prompt") else "eval"
        out[f"{key}_ms"] += float(ms)
        out[f"{key}_tokens"] += float(n)
    return out


def _rate(tokens: float, ms: float) -> float:
    return round(1000.0 * tokens / max(ms, 1e-9), 2)


def bench_llm(tmp: Path, threads: int, repeats: int = 2) -> dict[str, Any]:
    server = EmbeddedServer(n_threads=threads, log_dir=tmp)
    t0 = time.perf_counter()
    url = server.start()
    started = time.perf_counter() - t0
    log = server._server.log_path
    client = HttpChatClient(url)
    summ = LLMSummarizer(client=client)
    rng = random.Random(0)
    try:
        detailed, broad = [], []
        mark = log.stat().st_size
        for r in range(repeats):
            turns = rng.sample(TURNS, len(TURNS))
            items = [SourceItem(f"t{r}-{i}", "user", t, 1.7e9 + 60 * i)
                     for i, t in enumerate(turns)]
            t0 = time.perf_counter()
            s1 = summ.summarize(items, 1)
            detailed.append(time.perf_counter() - t0)
            kids = [SourceItem(f"k{j}", "summary", s1) for j in range(3)]
            t0 = time.perf_counter()
            summ.summarize(kids, 2)
            broad.append(time.perf_counter() - t0)
        perf = _perf(log, mark)
    finally:
        client.close()
        server.stop()
    return {
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp server)", "threads": threads,
        "server_start_s": round(started, 2),
        "prompt_tokens_per_s": _rate(perf["prompt_tokens"], perf["prompt_ms"]),
        "generation_tokens_per_s": _rate(perf["eval_tokens"], perf["eval_ms"]),
        "seconds_per_detailed_summary": [round(x, 2) for x in detailed],
        "seconds_per_broad_merge": [round(x, 2) for x in broad],
        "client_calls": client.stats.calls, "completion_tokens": client.stats.completion_tokens,
        "prompt_tokens": client.stats.prompt_tokens,
    }
