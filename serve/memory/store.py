"""The storage interface of the memory (SQLite by default: ``sqlite_store.py``; a server
database can implement the same methods).

Every method takes the owner (the API key id) with the session id: a key only ever sees
its own sessions (another key's session is ``NotFound``, exactly like a missing one).
Every edit creates one version and one audit entry atomically. Erasure is two-phase:
``erase_messages`` removes the text everywhere at once (message rows, the summaries that
quote it, tombstones in every version) and returns what must be recomputed;
``complete_erasure`` puts the recomputed summaries in place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from serve.memory.hashing import Keyring
from serve.memory.types import (
    AuditEntry,
    AuditReport,
    Message,
    NewMessage,
    SessionState,
    StoreScan,
    Summary,
    VersionInfo,
    VersionRewrite,
)

MAX_VERSIONS = 100  # rollback reaches any of the last 100 versions


@dataclass(frozen=True)
class AffectedSummary:
    """A summary removed by an erasure because its provenance included erased text."""

    summary: Summary
    content_hash: str


@dataclass
class ErasureStart:
    """Phase 1 of an erasure: the text is gone; ``affected`` await recompute."""

    erasure_id: str
    version: int
    erased: list[Message]  # in memory only, for the verification scan
    affected: list[AffectedSummary]
    state_hash_before: str
    state_hash_after: str
    rewrites: list[VersionRewrite]


@dataclass(frozen=True)
class Expired:
    """What the TTL sweeper must erase: a whole session (``message_ids`` None) or messages."""

    owner: str
    session_id: str
    message_ids: list[str] | None


class MemoryStore(ABC):
    """Sessions of messages and summaries, their versions, TTLs and the audit log."""

    keys: Keyring

    # -- reads ---------------------------------------------------------------------------
    @abstractmethod
    def head(self, owner: str, session_id: str) -> SessionState: ...

    @abstractmethod
    def head_version(self, owner: str, session_id: str) -> int: ...

    @abstractmethod
    def state_at(self, owner: str, session_id: str, version: int) -> SessionState: ...

    @abstractmethod
    def versions(self, owner: str, session_id: str) -> list[VersionInfo]: ...

    @abstractmethod
    def sessions(self, owner: str) -> list[str]: ...

    @abstractmethod
    def all_summaries(self, owner: str, session_id: str) -> list[Summary]:
        """Every stored summary of the session (the head's and older versions')."""

    @abstractmethod
    def messages_by_id(self, owner: str, session_id: str,
                       ids: Sequence[str]) -> dict[str, Message]:
        """Stored (not erased) messages of any retained version, by id."""

    # -- edits ---------------------------------------------------------------------------
    @abstractmethod
    def append(self, owner: str, session_id: str, messages: Sequence[NewMessage], actor: str,
               reason: str = "append", session_ttl_s: float | None = None) -> VersionInfo: ...

    @abstractmethod
    def rollback(self, owner: str, session_id: str, version: int, actor: str,
                 reason: str) -> VersionInfo: ...

    @abstractmethod
    def apply_compaction(self, owner: str, session_id: str, add: Sequence[Summary],
                         remove: Sequence[str], actor: str,
                         stored: Sequence[Summary] = ()) -> VersionInfo:
        """Swap summaries in the head (``stored``: new summaries kept only as provenance,
        e.g. older links of the broad chain); ``Conflict`` when a source is gone or not in
        the head."""

    @abstractmethod
    def set_ttl(self, owner: str, session_id: str, ttl_s: float | None, actor: str,
                message_id: str | None = None) -> float | None:
        """Expire the session (or one message) ``ttl_s`` from now (None clears); returns
        the expiry time."""

    # -- erasure -------------------------------------------------------------------------
    @abstractmethod
    def erase_messages(self, owner: str, session_id: str, ids: Sequence[str], actor: str,
                       reason: str, scope: str) -> ErasureStart: ...

    @abstractmethod
    def complete_erasure(self, owner: str, session_id: str, start: ErasureStart,
                         replacements: dict[str, Summary | None],
                         actor: str) -> tuple[list[VersionRewrite], dict[str, str]]:
        """Phase 2: the recomputed summaries replace the removed ones in every version;
        returns the versions rewritten and each new summary's content hash by old id."""

    @abstractmethod
    def drop_session(self, owner: str, session_id: str, actor: str, reason: str,
                     scope: str) -> tuple[str, list[Message], list[Summary], str]:
        """Erase a whole session; returns the erasure id, its messages and summaries (in
        memory, for the scan) and its last state hash."""

    @abstractmethod
    def expired(self, now: float) -> list[Expired]: ...

    # -- audit and verification ----------------------------------------------------------
    @abstractmethod
    def audit(self, owner: str, session_id: str | None = None,
              limit: int | None = None) -> list[AuditEntry]: ...

    @abstractmethod
    def verify_audit(self) -> AuditReport: ...

    @abstractmethod
    def record(self, owner: str, session_id: str, actor: str, action: str, reason: str,
               details: dict[str, object]) -> AuditEntry:
        """Add an audit entry that is not an edit (e.g. an erasure's verification)."""

    @abstractmethod
    def message_texts(self) -> list[str]:
        """Every stored message's content, all sessions (what makes an n-gram distinctive)."""

    @abstractmethod
    def checkpoint(self) -> None:
        """Make deleted bytes leave every file (WAL checkpoint)."""

    @abstractmethod
    def raw_files(self) -> list[Path]:
        """The files whose raw bytes the verification scan reads."""

    @abstractmethod
    def scan(self, needles: Sequence[str]) -> list[StoreScan]:
        """Search every table's text for the needles (case-insensitive)."""

    @abstractmethod
    def close(self) -> None: ...
