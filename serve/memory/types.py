"""The memory's records: messages, summaries, tombstones, versions, audit entries and
erasure receipts (typed, JSON-ready through ``to_dict``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant", "tool")


def to_dict(obj: Any) -> Any:
    """A dataclass (or a list of them) as plain JSON-ready data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class NewMessage:
    """A message to append. ``ts``: unix seconds; ``ttl_s``: erase it this long after now."""

    id: str
    role: str
    content: str
    ts: float
    ttl_s: float | None = None


@dataclass(frozen=True)
class Message:
    """A stored message; ``seq`` orders a session's messages (append order)."""

    id: str
    role: str
    content: str
    ts: float
    seq: int
    expires_at: float | None = None


@dataclass(frozen=True)
class Tombstone:
    """What a version keeps of an erased message: its id and the erasure, no content."""

    id: str
    seq: int
    erasure_id: str
    erased_at: float


@dataclass(frozen=True)
class Summary:
    """A summary and its provenance: the message ids it was made from (``sources``, level
    1) or the summaries it merged (``children``, level 2, whose messages it covers)."""

    id: str
    level: int
    content: str
    sources: tuple[str, ...]
    children: tuple[str, ...]
    summarizer: str
    first_seq: int
    last_seq: int


@dataclass
class SessionState:
    """A session at one version: messages in order, summaries (broad first), tombstones."""

    session_id: str
    version: int
    messages: list[Message]
    summaries: list[Summary]
    tombstones: list[Tombstone] = field(default_factory=list)

    def canonical(self) -> bytes:
        """The content of the state as canonical JSON bytes, without the version counter
        (two histories with the same messages and summaries give the same bytes)."""
        doc = {
            "session_id": self.session_id,
            "messages": [[m.id, m.role, m.content, m.ts] for m in self.messages],
            "summaries": sorted([[s.id, s.level, s.content, list(s.sources), list(s.children),
                                  s.summarizer] for s in self.summaries]),
        }
        return json.dumps(doc, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode()


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a session's version history."""

    version: int
    action: str
    actor: str
    ts: float
    reason: str
    state_hash: str
    n_messages: int = 0
    n_summaries: int = 0


@dataclass(frozen=True)
class AuditEntry:
    """One link of the audit chain; ``details`` holds ids and keyed hashes, never text."""

    seq: int
    ts: float
    actor: str
    action: str
    session_ref: str
    version: int
    reason: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of verifying the chain (``first_bad_seq`` = where it broke)."""

    ok: bool
    n_entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""


@dataclass(frozen=True)
class StoreScan:
    """One store searched for the erased text: ``scanned`` items (or bytes), ``hits``."""

    store: str
    scanned: int
    hits: int
    unit: str = "items"
    where: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Verification:
    """The scan for the erased text's distinctive n-grams in every store."""

    ngram_words: int
    ngrams: int  # distinctive needles searched
    not_distinctive: int  # needles also found in remaining messages (not searched)
    stores: list[StoreScan]

    @property
    def clean(self) -> bool:
        return all(s.hits == 0 for s in self.stores)


@dataclass(frozen=True)
class Recomputed:
    """A summary whose provenance included erased text, and what replaced it."""

    old_id: str
    new_id: str | None  # None: nothing was left to summarise
    old_hash: str
    new_hash: str | None


@dataclass(frozen=True)
class VersionRewrite:
    version: int
    old_hash: str
    new_hash: str


@dataclass
class ErasureReceipt:
    """What an erasure did, with the proof that the text is gone."""

    erasure_id: str
    session_id: str
    actor: str
    reason: str
    ts: float
    scope: str  # message | messages | session | ttl
    erased_ids: list[str]
    recomputed: list[Recomputed]
    versions_rewritten: list[VersionRewrite]
    index_entries_purged: int
    state_hash_before: str
    state_hash_after: str
    audit_seq: int
    audit_head: str
    verification: Verification | None = None
    remains: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = to_dict(self)
        out["verified_clean"] = self.verification is not None and self.verification.clean
        return out


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass
class ContextResult:
    """The messages memory sends with a query, and where each part came from."""

    messages: list[ChatMessage]
    tokens: int
    budget: int
    version: int
    summary_ids: list[str] = field(default_factory=list)
    retrieved_ids: list[str] = field(default_factory=list)
    window_ids: list[str] = field(default_factory=list)
