"""Offline replay: a memory directory built from a message log (``lmroute memory build``).

``DIR/memory.sqlite`` (+ ``.key``) holds the store; ``DIR/memory.json`` the config it was
built with (so ``lmroute memory context DIR`` assembles exactly as the build intended) and
the build's figures. Sessions are replayed message by message, as a live conversation
appends them, then compacted.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from serve.memory.config import MemoryConfig, config_from_dict
from serve.memory.errors import InvalidInput
from serve.memory.jsonl import Row
from serve.memory.service import MemoryService

MANIFEST = "memory.json"
DB = "memory.sqlite"
OWNER = "local"  # the offline commands' API key id


@dataclass
class BuildReport:
    """What a build stored and what compaction cost."""

    sessions: int = 0
    messages: int = 0
    summaries_head: int = 0
    summaries_stored: int = 0
    covered_tokens: int = 0  # tokens of the messages the head's summaries cover
    summary_tokens: int = 0  # tokens of the head's summaries
    compression_ratio: float = 0.0  # covered_tokens / summary_tokens
    summaries_computed: dict[int, int] = field(default_factory=dict)
    compaction_seconds: dict[int, float] = field(default_factory=dict)
    seconds_per_summary: dict[int, float] = field(default_factory=dict)
    append_seconds: float = 0.0
    wall_seconds: float = 0.0


def dir_config(out: Path, summarizer: str, budget: int) -> MemoryConfig:
    cfg = MemoryConfig(db_path=str(out / DB), budget_tokens=budget, background=False,
                       ttl_sweep_s=0.0)
    cfg.summarizer.name = summarizer
    return cfg.validate()


def load_config(directory: Path) -> MemoryConfig:
    """The config a memory directory was built with (its db path made absolute)."""
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInput(f"{directory}: not a memory directory (no {MANIFEST}; "
                           "make one with lmroute memory build)")
    cfg = config_from_dict(json.loads(path.read_text())["config"])
    cfg.db_path = str(directory / DB)
    cfg.background, cfg.ttl_sweep_s = False, 0.0
    return cfg.validate()


def save_manifest(directory: Path, cfg: MemoryConfig, report: BuildReport) -> None:
    doc = {"format_version": 1, "config": dataclasses.asdict(cfg) | {"db_path": DB},
           "build": dataclasses.asdict(report)}
    (directory / MANIFEST).write_text(json.dumps(doc, indent=2))


def replay(svc: MemoryService, rows: Sequence[Row], progress: bool = True) -> BuildReport:
    """Append every row (in order, one version each), then compact each session."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    order: list[str] = []
    for r in tqdm(rows, desc="append", unit="msg", disable=not progress):
        if r.session_id not in order:
            order.append(r.session_id)
        svc.append(OWNER, r.session_id, [r.message])
    t_append = time.perf_counter() - t0
    for sid in tqdm(order, desc="compact", unit="session", disable=not progress):
        svc.compact_now(OWNER, sid)
    rep = measure(svc, order)
    rep.append_seconds = t_append
    rep.wall_seconds = time.perf_counter() - t0
    return rep


def measure(svc: MemoryService, sessions: Sequence[str]) -> BuildReport:
    """Sizes, the compression ratio and compaction cost of a built memory."""
    rep = BuildReport(sessions=len(sessions))
    count = svc.counter.count
    for sid in sessions:
        state = svc.state(OWNER, sid)
        plan = svc.compactor.plan(state.messages)
        verbatim = set(plan.verbatim)
        rep.messages += len(state.messages)
        rep.summaries_head += len(state.summaries)
        rep.summaries_stored += len(svc.store.all_summaries(OWNER, sid))
        rep.covered_tokens += sum(count(m.content) for m in state.messages
                                  if m.id not in verbatim)
        rep.summary_tokens += sum(count(s.content) for s in state.summaries)
    rep.compression_ratio = rep.covered_tokens / max(1, rep.summary_tokens)
    st = svc.compactor.stats
    rep.summaries_computed = dict(st.computed)
    rep.compaction_seconds = {k: round(v, 3) for k, v in st.seconds.items()}
    rep.seconds_per_summary = {k: round(st.seconds[k] / n, 4)
                               for k, n in st.computed.items() if n}
    return rep
