"""Stage ``memory``: conversation memory in the request path (library: serve/memory/).

Plugged in by the serve group ``conf/memory/`` (``lmroute serve memory=sqlite``), before
``pre-checks`` (contract: docs/contracts.md, "Pipeline stages"), so the context it adds
is routed, budgeted and counted like the rest of the prompt.

- The session: the header ``x-lmroute-session`` (``session_header``), else the request's
  ``user`` field (``user_field``); neither = no memory for that request. Sessions belong
  to the API key (``ctx.key.key_id``; ``public`` when auth is off, so without auth anyone
  who knows a session id shares it: use auth, or unguessable ids).
- ``before``: the memory context for the last user message (summaries, retrieved older
  messages, the recent window; serve/memory/assemble.py) is inserted after the request's
  leading system messages through ``ctx.set_messages`` (the budget's prompt bound stays an
  upper bound). Its budget: ``budget_tokens``, lowered so that the request's own
  messages, its ``max_tokens`` and the memory fit the smallest ``context_tokens`` of the
  configured backends. Header ``x-lmroute-memory``: version, tokens, parts.
- ``finish``: when the answer completed (streamed or not), the request's last user
  message and the answer the client received are appended (one version); compaction
  then runs on the memory's worker thread, never in the request.
- The LLM summarizer calls ``summarizer.model`` through the gateway's own backends
  (``Services.complete``) when one serves it, else it starts the embedded SmolLM2 server.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from serve.context import RequestContext
from serve.errors import GatewayError
from serve.memory.config import MemoryConfig, config_from_dict
from serve.memory.errors import MemoryError_
from serve.memory.service import MemoryService, build_service
from serve.memory.types import ChatMessage, NewMessage
from serve.pipeline import Stage
from serve.services import Services

log = logging.getLogger(__name__)
HEADER = "x-lmroute-memory"
PUBLIC = "public"
MIN_BUDGET = 16


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


class GatewayChat:
    """The LLM summarizer's client: one call through the gateway's backends, made from
    the memory's worker threads onto the gateway's event loop."""

    def __init__(self, svc: Services, loop: asyncio.AbstractEventLoop,
                 timeout_s: float = 300.0) -> None:
        self.svc, self.loop, self.timeout_s = svc, loop, timeout_s

    def complete(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> str:
        fut = asyncio.run_coroutine_threadsafe(
            self.svc.complete(model, list(messages), max_tokens), self.loop)
        return fut.result(self.timeout_s)


def decision_log_note(svc: Services) -> str:
    """What the gateway's decision log keeps of an erased message (depends on log.query).
    Part of the receipt a client gets: it names the setting (log.dir), never the path."""
    s = svc.settings.log
    if str(s.query) == "sha256":
        return ("decision log (log.dir): an unkeyed SHA-256 of each routed text (log.query="
                "sha256), which includes the memory context; not rewritten by an erasure")
    return ("decision log (log.dir): the routed text of each request, memory context "
            "included, is kept in plain text (log.query=text) and NOT rewritten by an "
            "erasure; set log.query=sha256 to keep only hashes")


def _store_errors() -> tuple[type[BaseException], ...]:
    """The drivers' errors: a store that is locked, unreachable or gone (SQLite, PostgreSQL)."""
    errors: list[type[BaseException]] = [sqlite3.Error]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:
        pass
    return tuple(errors)


STORE_ERRORS = _store_errors()


async def run_memory(run_sync: Callable[..., Awaitable[Any]], fn: Callable[..., Any],
                     *args: Any, prefix: str = "memory: ") -> Any:
    """Call the memory service off the event loop. Its own errors keep their 4xx; a store
    that cannot be used (locked past the timeout, PostgreSQL down) is a 503
    ``state_unavailable`` with Retry-After, never a 500."""
    try:
        return await run_sync(fn, *args)
    except MemoryError_ as exc:
        raise GatewayError(exc.status, f"{prefix}{exc}", code="memory_error") from exc
    except STORE_ERRORS as exc:
        log.error("memory store unusable: %s: %s", type(exc).__name__, exc)
        raise GatewayError(503, "The conversation memory store is unavailable; try again "
                           "shortly.", type_="service_unavailable", code="state_unavailable",
                           headers={"retry-after": "1"}) from exc


class MemoryStage(Stage[Services]):
    """Keyword arguments: ``session_header``, ``user_field`` and the fields of
    ``serve.memory.config.MemoryConfig``."""

    name = "memory"

    def __init__(self, session_header: str = "x-lmroute-session", user_field: bool = True,
                 **memory: Any) -> None:
        self.session_header = session_header.lower()
        self.user_field = user_field
        try:
            self.cfg: MemoryConfig = config_from_dict(memory).validate()
        except MemoryError_ as exc:
            raise ValueError(str(exc)) from exc
        self.memory: MemoryService | None = None
        self._min_context = 0

    async def start(self, svc: Services) -> None:
        from serve.cache.erasure import erasers

        cfg = self.cfg
        client = None
        if cfg.summarizer.name == "llm" and not cfg.summarizer.base_url and any(
                cfg.summarizer.model in (b.serves or []) or cfg.summarizer.model == b.model
                for b in svc.settings.backends.values()):
            client = GatewayChat(svc, asyncio.get_running_loop())
        self._min_context = min((b.context_tokens for b in svc.settings.backends.values()),
                                default=0)
        self.memory = await svc.run_sync(build_service, cfg, client,
                                         [decision_log_note(svc)], erasers)
        log.info("memory: %s, summarizer %s (%s), retrieval %s", cfg.db_path,
                 cfg.summarizer.name, "gateway backends" if client else "own",
                 cfg.retrieval)

    async def close(self) -> None:
        if self.memory is not None:
            await asyncio.to_thread(self.memory.close)
            self.memory = None

    def session(self, ctx: RequestContext) -> str | None:
        sid, where = ctx.headers.get(self.session_header), self.session_header
        if not sid and self.user_field:
            user = ctx.body.get("user")
            sid, where = (user if isinstance(user, str) else None), "user"
        sid = (sid or "").strip()
        if len(sid) > 200:  # the error names where the id came from (header or body)
            raise GatewayError(400, f"'{where}': the memory session id must be at most 200 "
                               "characters.", code="invalid_session", param=where)
        return sid or None

    @staticmethod
    def owner(ctx: RequestContext) -> str:
        return ctx.key.key_id if ctx.key is not None else PUBLIC

    def budget(self, ctx: RequestContext, svc: Services, messages: list[Any]) -> int:
        """``budget_tokens``, lowered to what the smallest backend context leaves."""
        assert self.memory is not None
        counter = self.memory.counter
        own = counter.count_messages([ChatMessage(str(m.get("role", "")),
                                                  _text(m.get("content")))
                                      for m in messages if isinstance(m, dict)])
        out = ctx.max_tokens or svc.settings.default_max_tokens
        room = self._min_context - own - out - 16 if self._min_context else self.cfg.budget_tokens
        return min(self.cfg.budget_tokens, room)

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        sid = self.session(ctx)
        messages = ctx.body.get("messages")
        if sid is None or self.memory is None or not isinstance(messages, list):
            return
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        turn = _text(users[-1].get("content")) if users else ""
        st: dict[str, Any] = {"owner": self.owner(ctx), "session": sid, "turn": turn}
        ctx.state[self.name] = st
        budget = self.budget(ctx, svc, messages)
        if budget < MIN_BUDGET:
            ctx.extra_headers[HEADER] = "skipped; no room in the context window"
            st["log"] = {"skipped": "no room", "budget": budget}
            return
        res = await run_memory(svc.run_sync, self.memory.context, st["owner"], sid, turn,
                               budget)
        if res.messages:
            lead = 0
            while lead < len(messages) and isinstance(messages[lead], dict) and \
                    messages[lead].get("role") in ("system", "developer"):
                lead += 1
            added = [{"role": m.role, "content": m.content} for m in res.messages]
            ctx.set_messages(messages[:lead] + added + messages[lead:])
        st["log"] = {"version": res.version, "tokens": res.tokens, "budget": budget,
                     "summaries": len(res.summary_ids), "retrieved": len(res.retrieved_ids),
                     "window": len(res.window_ids)}
        ctx.extra_headers[HEADER] = (f"version={res.version}; tokens={res.tokens}; "
                                     f"summaries={len(res.summary_ids)}; "
                                     f"retrieved={len(res.retrieved_ids)}; "
                                     f"window={len(res.window_ids)}")

    async def finish(self, ctx: RequestContext, svc: Services) -> None:
        st = ctx.state.get(self.name)
        if not st or self.memory is None:
            return
        ok = ctx.answer_complete and ctx.status == 200 and ctx.error is None
        if not ok or not st["turn"]:
            st.setdefault("log", {})["appended"] = False
            return
        now = time.time()
        new = [NewMessage(f"{ctx.request_id}:user", "user", st["turn"], now),
               NewMessage(f"{ctx.request_id}:assistant", "assistant", ctx.answer_text, now)]
        try:  # the answer is already out: a store failure is logged, not raised
            v = await run_memory(svc.run_sync, self.memory.append, st["owner"],
                                 st["session"], new, st["owner"], "chat")
        except GatewayError as exc:
            st.setdefault("log", {}).update({"appended": False, "error": exc.code})
            return
        st.setdefault("log", {}).update({"appended": True, "version_after": v.version})
