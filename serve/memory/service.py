"""The memory as one object: what ``lmroute memory``, the benchmarks and the gateway's
memory stage call. Appends schedule a background compaction; ``context`` only reads (the
last completed summaries, the retrieval index, the window); erasure, rollback, TTL and
the audit log go to the store through the eraser."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from serve.memory.assemble import AssemblyConfig, assemble
from serve.memory.compaction import BackgroundCompactor, Compactor
from serve.memory.config import MemoryConfig
from serve.memory.erasure import Eraser
from serve.memory.errors import InvalidInput, NotFound
from serve.memory.planner import PlanConfig
from serve.memory.retrieval import IndexCache, Scorer, make_scorer
from serve.memory.store import MemoryStore
from serve.memory.store_pg import open_store
from serve.memory.summarizers.base import Summarizer, make_summarizer
from serve.memory.summarizers.chat import ChatClient
from serve.memory.tokens import TokenCounter, make_counter
from serve.memory.ttl import Sweeper, sweep
from serve.memory.types import (
    ROLES,
    AuditEntry,
    AuditReport,
    ContextResult,
    ErasureReceipt,
    NewMessage,
    SessionState,
    VersionInfo,
)
from serve.memory.verify import Scannable

MAX_ID = 200


def check_message(m: NewMessage, where: str) -> None:
    """One clear error per unusable field."""
    if not isinstance(m.id, str) or not m.id or len(m.id) > MAX_ID:
        raise InvalidInput(f"{where}: field 'id': expected a non-empty string of <= {MAX_ID} chars")
    if m.role not in ROLES:
        raise InvalidInput(f"{where}: field 'role': expected one of {list(ROLES)}, got {m.role!r}")
    if not isinstance(m.content, str):
        raise InvalidInput(f"{where}: field 'content': expected a string")
    if not isinstance(m.ts, int | float) or not math.isfinite(m.ts):
        raise InvalidInput(f"{where}: field 'ts': expected a finite number (unix seconds)")
    if m.ttl_s is not None and not m.ttl_s > 0:
        raise InvalidInput(f"{where}: field 'ttl_s': expected seconds > 0")


class MemoryService:
    def __init__(self, store: MemoryStore, summarizer: Summarizer, counter: TokenCounter,
                 scorer: Scorer, plan: PlanConfig, assembly: AssemblyConfig,
                 background: bool = True, ttl_sweep_s: float = 0.0,
                 session_ttl_s: float = 0.0, message_ttl_s: float = 0.0,
                 ngram_words: int = 4, remains: Sequence[str] = (),
                 extra_stores: Callable[[], Sequence[Scannable]] = tuple) -> None:
        self.store = store
        self.summarizer = summarizer
        self.counter = counter
        self.assembly = assembly
        self.session_ttl_s, self.message_ttl_s = session_ttl_s, message_ttl_s
        self.compactor = Compactor(store, summarizer, plan)
        self.indexes = IndexCache(scorer, counter)
        self.eraser = Eraser(store, self.compactor, self.indexes, extra_stores,
                             ngram_words=ngram_words, remains=remains)
        self.background = BackgroundCompactor(self.compactor) if background else None
        self.sweeper = Sweeper(self.eraser, ttl_sweep_s) if ttl_sweep_s > 0 else None

    # -- the request path ----------------------------------------------------------------
    def append(self, owner: str, session_id: str, messages: Sequence[NewMessage],
               actor: str | None = None, reason: str = "append") -> VersionInfo:
        for i, m in enumerate(messages):
            check_message(m, f"messages[{i}]")
        if self.message_ttl_s:
            messages = [m if m.ttl_s else NewMessage(m.id, m.role, m.content, m.ts,
                                                     self.message_ttl_s) for m in messages]
        v = self.store.append(owner, session_id, messages, actor or owner, reason,
                              session_ttl_s=self.session_ttl_s or None)
        if self.background is not None:
            self.background.request(owner, session_id)
        return v

    def context(self, owner: str, session_id: str, query: str,
                budget_tokens: int) -> ContextResult:
        """The messages memory sends with ``query``; empty for an unknown session."""
        if budget_tokens < 1:
            raise InvalidInput(f"budget_tokens: expected >= 1, got {budget_tokens}")
        try:
            state = self.store.head(owner, session_id)
        except NotFound:
            return ContextResult([], 0, budget_tokens, 0)
        index = self.indexes.get(owner, state)
        return assemble(state, query, budget_tokens, self.counter, index, self.indexes.scorer,
                        self.assembly)

    # -- reads and edits -----------------------------------------------------------------
    def state(self, owner: str, session_id: str, version: int | None = None) -> SessionState:
        if version is None:
            return self.store.head(owner, session_id)
        return self.store.state_at(owner, session_id, version)

    def versions(self, owner: str, session_id: str) -> list[VersionInfo]:
        return self.store.versions(owner, session_id)

    def rollback(self, owner: str, session_id: str, version: int, reason: str,
                 actor: str | None = None) -> VersionInfo:
        v = self.store.rollback(owner, session_id, version, actor or owner, reason)
        self.indexes.purge(owner, session_id)
        return v

    def erase(self, owner: str, session_id: str, ids: Sequence[str] | None, reason: str,
              actor: str | None = None) -> ErasureReceipt:
        return self.eraser.erase(owner, session_id, ids, actor or owner, reason)

    def set_ttl(self, owner: str, session_id: str, ttl_s: float | None,
                message_id: str | None = None, actor: str | None = None) -> float | None:
        return self.store.set_ttl(owner, session_id, ttl_s, actor or owner, message_id)

    def audit(self, owner: str, session_id: str | None = None,
              limit: int | None = None) -> tuple[list[AuditEntry], AuditReport]:
        return self.store.audit(owner, session_id, limit), self.store.verify_audit()

    def sweep(self, now: float | None = None) -> list[ErasureReceipt]:
        return sweep(self.eraser, now)

    def compact_now(self, owner: str, session_id: str) -> VersionInfo | None:
        return self.compactor.compact(owner, session_id)

    def wait_idle(self, timeout_s: float = 600.0) -> bool:
        return self.background.wait_idle(timeout_s) if self.background else True

    def close(self) -> None:
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.background is not None:
            self.background.stop()
        self.summarizer.close()
        self.store.close()


def build_summarizer(cfg: MemoryConfig, client: ChatClient | None = None) -> Summarizer:
    s = cfg.summarizer
    if s.name == "llm":
        return make_summarizer("llm", client=client, base_url=s.base_url or None, model=s.model,
                               gguf=s.gguf, max_tokens=s.max_tokens,
                               broad_max_tokens=s.broad_max_tokens, n_threads=s.n_threads,
                               log_dir=str(Path(cfg.db_path).parent))
    if s.name == "extractive":
        return make_summarizer("extractive", max_words=s.max_words, broad_words=s.broad_words)
    return make_summarizer(s.name)


def build_service(cfg: MemoryConfig, client: ChatClient | None = None,
                  remains: Sequence[str] = (),
                  extra_stores: Callable[[], Sequence[Scannable]] = tuple) -> MemoryService:
    """The service a config describes (``client``: how the LLM summarizer calls a model)."""
    cfg.validate()
    t = cfg.tokenizer
    counter = (make_counter("gguf", gguf=t.gguf, per_message=t.per_message) if t.kind == "gguf"
               else make_counter(t.kind, path=t.path, per_message=t.per_message))
    store = open_store(cfg)  # SQLite, or PostgreSQL with store: postgres (store_pg.py)
    a = cfg.assembly
    return MemoryService(
        store, build_summarizer(cfg, client), counter, make_scorer(cfg.retrieval),
        PlanConfig(**vars(cfg.plan)),
        AssemblyConfig(a.window_share, a.summary_share, a.min_window, a.dates, a.role_labels),
        background=cfg.background, ttl_sweep_s=cfg.ttl_sweep_s,
        session_ttl_s=cfg.session_ttl_s, message_ttl_s=cfg.message_ttl_s,
        ngram_words=cfg.ngram_words, remains=remains, extra_stores=extra_stores)

