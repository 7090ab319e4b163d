"""Which summaries a history needs: a deterministic function of the message sequence.

    [ broad summary B_g ][ detailed chunk summaries ][ verbatim: pending + last `window` ]

Messages older than the last ``window`` are cut into chunks by content-defined chunking:
a chunk ends after a message whose id hashes to a boundary (once it has ``chunk_min``
messages; at ``chunk_max`` at the latest), so erasing a message changes only its own
chunk (or merges two), never the cut of the rest. Each chunk gets a level-1 (detailed)
summary. The oldest chunks are merged ``merge_chunks`` at a time into the level-2 (broad)
summary, a chain ``B_k = broad([B_(k-1)] + chunks)``, so that ``detailed_chunks`` to
``detailed_chunks + merge_chunks - 1`` chunks (about 30-50 messages) stay detailed.

Summary ids are content addresses of (summarizer key, level, provenance): the same
history gives the same ids, so an erasure followed by recompaction reaches exactly the
state of a history that never had the erased message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from serve.memory.errors import InvalidInput
from serve.memory.types import Message


@dataclass(frozen=True)
class PlanConfig:
    """Sizes of the hierarchy (messages and chunks)."""

    window: int = 10
    chunk_min: int = 6
    chunk_avg: int = 10
    chunk_max: int = 16
    detailed_chunks: int = 3
    merge_chunks: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_min < self.chunk_avg <= self.chunk_max:
            raise InvalidInput("plan: expected 1 <= chunk_min < chunk_avg <= chunk_max, got "
                               f"{self.chunk_min}, {self.chunk_avg}, {self.chunk_max}")
        if self.window < 0 or self.detailed_chunks < 0 or self.merge_chunks < 1:
            raise InvalidInput("plan: window >= 0, detailed_chunks >= 0, merge_chunks >= 1")


@dataclass(frozen=True)
class Planned:
    """A summary the plan wants: its id, level and provenance."""

    id: str
    level: int
    sources: tuple[str, ...]
    children: tuple[str, ...]
    first_seq: int
    last_seq: int


@dataclass
class Plan:
    """``head``: the summaries the head should hold (broad first); ``build``: every
    summary needed to make them, in dependency order (chunks, then the broad chain);
    ``verbatim``: ids of the messages no summary covers yet."""

    head: list[Planned] = field(default_factory=list)
    build: list[Planned] = field(default_factory=list)
    verbatim: list[str] = field(default_factory=list)


def summary_id(key: str, level: int, sources: Sequence[str], children: Sequence[str]) -> str:
    raw = "\x1f".join([key, str(level), "\x1e".join(sources), "\x1e".join(children)])
    return "s" + hashlib.sha256(raw.encode()).hexdigest()[:23]


def _is_boundary(msg_id: str, cfg: PlanConfig) -> bool:
    h = int.from_bytes(hashlib.sha256(msg_id.encode()).digest()[:8], "big")
    return h % (cfg.chunk_avg - cfg.chunk_min + 1) == 0


def chunks(messages: Sequence[Message], cfg: PlanConfig) -> tuple[list[list[Message]], int]:
    """Sealed chunks of the messages older than the window, and how many messages they
    cover (the rest, up to the window, is pending)."""
    eligible = list(messages[:max(0, len(messages) - cfg.window)])
    out: list[list[Message]] = []
    cur: list[Message] = []
    for m in eligible:
        cur.append(m)
        if len(cur) >= cfg.chunk_max or (len(cur) >= cfg.chunk_min and _is_boundary(m.id, cfg)):
            out.append(cur)
            cur = []
    return out, sum(len(c) for c in out)


def make_plan(messages: Sequence[Message], cfg: PlanConfig, key: str) -> Plan:
    """The plan for ``messages`` (in order) under summarizer ``key``."""
    sealed, covered = chunks(messages, cfg)
    level1 = [Planned(summary_id(key, 1, [m.id for m in c], []), 1, tuple(m.id for m in c),
                      (), c[0].seq, c[-1].seq) for c in sealed]
    groups = max(0, len(level1) - cfg.detailed_chunks) // cfg.merge_chunks
    chain: list[Planned] = []
    for g in range(groups):
        merged = level1[g * cfg.merge_chunks:(g + 1) * cfg.merge_chunks]
        children = ([chain[-1].id] if chain else []) + [p.id for p in merged]
        chain.append(Planned(summary_id(key, 2, [], children), 2, (), tuple(children),
                             level1[0].first_seq, merged[-1].last_seq))
    detailed = level1[groups * cfg.merge_chunks:]
    head = ([chain[-1]] if chain else []) + detailed
    return Plan(head=head, build=level1 + chain,
                verbatim=[m.id for m in messages[covered:]])
