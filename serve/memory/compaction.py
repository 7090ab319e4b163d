"""Compaction: compute the summaries the plan wants and swap them into the head.

``Compactor.compact`` does one session synchronously (offline builds, tests, an
erasure's recompaction); ``BackgroundCompactor`` runs it on a worker thread from a queue
of dirty sessions, so a request never waits for a summary: it uses the last completed
one. Summaries are content-addressed, so a summary already stored (for an older version)
is reused, not recomputed. A compaction whose sources changed underneath (an erasure, a
rollback) is refused by the store (``Conflict``) and planned again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from serve.memory.errors import Conflict, NotFound
from serve.memory.planner import Plan, PlanConfig, Planned, make_plan
from serve.memory.store import MemoryStore
from serve.memory.summarizers.base import SourceItem, Summarizer
from serve.memory.types import Message, Summary, VersionInfo

log = logging.getLogger(__name__)
ACTOR = "system:compactor"


@dataclass
class CompactionStats:
    """Summaries computed and the seconds they took, per level."""

    compactions: int = 0
    computed: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})
    seconds: dict[int, float] = field(default_factory=lambda: {1: 0.0, 2: 0.0})
    reused: int = 0
    conflicts: int = 0


def message_items(messages: Sequence[Message]) -> list[SourceItem]:
    return [SourceItem(m.id, m.role, m.content, m.ts) for m in messages]


class Compactor:
    def __init__(self, store: MemoryStore, summarizer: Summarizer, plan: PlanConfig) -> None:
        self.store = store
        self.summarizer = summarizer
        self.plan_cfg = plan
        self.stats = CompactionStats()
        self._lock = threading.Lock()

    def plan(self, messages: Sequence[Message]) -> Plan:
        return make_plan(messages, self.plan_cfg, self.summarizer.key)

    def compact(self, owner: str, session_id: str, attempts: int = 3) -> VersionInfo | None:
        """Bring the head's summaries to the plan; None when they already are."""
        for _ in range(attempts):
            state = self.store.head(owner, session_id)
            plan = self.plan(state.messages)
            have = {s.id for s in state.summaries}
            want = [p.id for p in plan.head]
            if set(want) == have:
                return None
            stored = {s.id: s for s in self.store.all_summaries(owner, session_id)}
            built = self.build(plan.build, stored, {m.id: m for m in state.messages})
            add = [built[i] for i in want if i not in have]
            extra = [s for i, s in built.items() if i not in stored and i not in want]
            try:
                v = self.store.apply_compaction(owner, session_id, add,
                                                sorted(have - set(want)), ACTOR, stored=extra)
            except Conflict as exc:
                log.info("compaction of a session retried: %s", exc)
                self.stats.conflicts += 1
                continue
            self.stats.compactions += 1
            return v
        return None

    def build(self, planned: Sequence[Planned], stored: dict[str, Summary],
              messages: dict[str, Message]) -> dict[str, Summary]:
        """Every planned summary, reusing stored ones (dependency order)."""
        out: dict[str, Summary] = {}
        for p in planned:
            if p.id in stored:
                out[p.id] = stored[p.id]
                self.stats.reused += 1
                continue
            if p.level == 1:
                items = message_items([messages[i] for i in p.sources])
            else:
                items = [SourceItem(c, "summary", out[c].content) for c in p.children]
            out[p.id] = self.make(p, items)
        return out

    def make(self, p: Planned, items: Sequence[SourceItem]) -> Summary:
        """One summary (timed into the stats)."""
        t0 = time.perf_counter()
        text = self.summarizer.summarize(items, p.level)
        dt = time.perf_counter() - t0
        with self._lock:
            self.stats.computed[p.level] = self.stats.computed.get(p.level, 0) + 1
            self.stats.seconds[p.level] = self.stats.seconds.get(p.level, 0.0) + dt
        return Summary(p.id, p.level, text, p.sources, p.children, self.summarizer.key,
                       p.first_seq, p.last_seq)


class BackgroundCompactor:
    """A worker thread compacting the sessions it is told about, one at a time."""

    def __init__(self, compactor: Compactor) -> None:
        self.compactor = compactor
        self._pending: dict[tuple[str, str], None] = {}
        self._cv = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="memory-compactor", daemon=True)
        self._thread.start()

    def request(self, owner: str, session_id: str) -> None:
        """Mark a session for compaction (returns at once)."""
        with self._cv:
            self._pending[(owner, session_id)] = None
            self._cv.notify_all()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until nothing is pending or running (tests, offline builds)."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                key = next(iter(self._pending))
                del self._pending[key]
                self._busy = True
            try:
                self.compactor.compact(*key)
            except NotFound:
                pass  # erased meanwhile
            except Exception:
                log.exception("background compaction failed")
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def stop(self, timeout_s: float = 30.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout_s)
