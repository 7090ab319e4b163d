"""Verifiable forgetting: erase, recompute, purge, verify, and a receipt.

``Eraser.erase`` (one message, a set, or the whole session; TTL expiry comes through
here too):
1. the store's phase 1 removes the text from the message table, deletes every summary
   whose provenance includes it and turns it into a tombstone in every retained version
   (rollback can never bring it back), rewriting each version's state hash;
2. the retrieval index of the session is purged (and any extra store given);
3. each deleted summary is recomputed from its remaining sources (children first) and put
   back in every version that held it (phase 2); then the head is recompacted to the
   plan, so the state equals that of a history that never had the message;
4. the WAL is checkpointed and the erased text's distinctive n-grams are searched for in
   every table, every index and the raw bytes of the database files;
5. the receipt (ids, summaries recomputed with old/new hashes, versions rewritten, the
   scan) is returned and its summary appended to the audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from serve.memory.compaction import Compactor, message_items
from serve.memory.errors import Conflict, InvalidInput
from serve.memory.hashing import EMPTY_HASH
from serve.memory.planner import Planned, summary_id
from serve.memory.retrieval import IndexCache
from serve.memory.store import ErasureStart, MemoryStore
from serve.memory.summarizers.base import SourceItem
from serve.memory.types import ErasureReceipt, Recomputed, Summary, Verification, VersionRewrite
from serve.memory.verify import Scannable, needles, scan_bytes, verification

log = logging.getLogger(__name__)

REMAINS = [
    "audit log: one entry per edit, with message ids and salted keyed content hashes; the "
    "salts were deleted with the messages, so those hashes can no longer be linked to text",
    "tombstones: the erased message ids, their positions and the erasure id (no content)",
]


class Eraser:
    def __init__(self, store: MemoryStore, compactor: Compactor, indexes: IndexCache,
                 extra_stores: Callable[[], Sequence[Scannable]] = tuple,
                 ngram_words: int = 4, remains: Sequence[str] = ()) -> None:
        """``extra_stores``: called at each erasure, the stores outside the memory that
        hold derived text (e.g. the semantic cache: ``purge(owner, session, ids)`` and
        ``scan(needles)``)."""
        self.store = store
        self.compactor = compactor
        self.indexes = indexes
        self.extra_stores = extra_stores
        self.n = ngram_words
        self.remains = [*REMAINS, *remains]

    def erase(self, owner: str, session_id: str, ids: Sequence[str] | None, actor: str,
              reason: str, scope: str | None = None) -> ErasureReceipt:
        """Erase ``ids`` (None = the whole session) and prove it."""
        if not reason.strip():
            raise InvalidInput("reason: an erasure needs a reason")
        if ids is not None and not ids:
            raise InvalidInput("ids: expected at least one message id")
        t0 = time.perf_counter()
        if ids is None:
            receipt = self._session(owner, session_id, actor, reason, scope or "session")
        else:
            scope = scope or ("message" if len(ids) == 1 else "messages")
            receipt = self._messages(owner, session_id, ids, actor, reason, scope)
        receipt.seconds = time.perf_counter() - t0
        return receipt

    def _messages(self, owner: str, session_id: str, ids: Sequence[str], actor: str,
                  reason: str, scope: str) -> ErasureReceipt:
        start = self.store.erase_messages(owner, session_id, ids, actor, reason, scope)
        purged = self.indexes.purge(owner, session_id, ids)
        purged += sum(getattr(x, "purge", lambda *a: 0)(owner, session_id, ids)
                      for x in self.extra_stores())
        repl, (rewrites, new_hashes) = self._recompute(owner, session_id, start, actor)
        self.compactor.compact(owner, session_id)
        self.indexes.purge(owner, session_id)  # the recompaction's version: rebuilt on use
        check = self.verify([m.content for m in start.erased])
        after = self.store.versions(owner, session_id)[-1].state_hash
        receipt = ErasureReceipt(
            start.erasure_id, session_id, actor, reason, time.time(), scope,
            [m.id for m in start.erased], _recomputed(start, repl, new_hashes),
            _merge(start.rewrites, rewrites), purged, start.state_hash_before, after, 0, "",
            check, list(self.remains))
        return self._record(owner, session_id, receipt)

    def _session(self, owner: str, session_id: str, actor: str, reason: str,
                 scope: str) -> ErasureReceipt:
        eid, msgs, sums, last = self.store.drop_session(owner, session_id, actor, reason, scope)
        purged = self.indexes.purge(owner, session_id)
        purged += sum(getattr(x, "purge", lambda *a: 0)(owner, session_id, None)
                      for x in self.extra_stores())
        check = self.verify([m.content for m in msgs])  # summaries only quote these
        receipt = ErasureReceipt(
            eid, session_id, actor, reason, time.time(), scope, [m.id for m in msgs],
            [Recomputed(s.id, None, "", None) for s in sums], [], purged, last, EMPTY_HASH,
            0, "", check, list(self.remains))
        return self._record(owner, session_id, receipt)

    def _record(self, owner: str, session_id: str, receipt: ErasureReceipt) -> ErasureReceipt:
        v = receipt.verification
        entry = self.store.record(owner, session_id, receipt.actor, "erase_verified",
                                  receipt.reason, {
                                      "erasure_id": receipt.erasure_id,
                                      "clean": bool(v and v.clean),
                                      "ngrams": v.ngrams if v else 0,
                                      "hits": {s.store: s.hits for s in v.stores} if v else {},
                                      "state_hash_after": receipt.state_hash_after})
        receipt.audit_seq, receipt.audit_head = entry.seq, entry.entry_hash
        if v and not v.clean:
            log.error("erasure %s: verification found the erased text in %s", receipt.erasure_id,
                      [s.store for s in v.stores if s.hits])
        return receipt

    def _recompute(self, owner: str, session_id: str, start: ErasureStart,
                   actor: str) -> tuple[dict[str, Summary | None],
                                        tuple[list[VersionRewrite], dict[str, str]]]:
        for _ in range(5):
            repl = self._replacements(owner, session_id, start)
            try:
                return repl, self.store.complete_erasure(owner, session_id, start, repl, actor)
            except Conflict as exc:
                log.info("erasure %s: recompute retried: %s", start.erasure_id, exc)
        raise Conflict(f"erasure {start.erasure_id}: sources kept changing during recompute")

    def _replacements(self, owner: str, session_id: str,
                      start: ErasureStart) -> dict[str, Summary | None]:
        """Each removed summary rebuilt from what remains of its provenance (children
        before parents); None when nothing remains."""
        removed = {a.summary.id: a.summary for a in start.affected}
        stored = {s.id: s for s in self.store.all_summaries(owner, session_id)}
        key = self.compactor.summarizer.key
        out: dict[str, Summary | None] = {}

        def resolve(sid: str) -> Summary | None:
            if sid not in removed:
                return stored.get(sid)
            if sid not in out:
                out[sid] = self._rebuild(owner, session_id, removed[sid], resolve, stored, key)
            return out[sid]

        for sid in removed:
            resolve(sid)
        return out

    def _rebuild(self, owner: str, session_id: str, s: Summary, resolve: object,
                 stored: dict[str, Summary], key: str) -> Summary | None:
        if s.sources:
            msgs = self.store.messages_by_id(owner, session_id, s.sources)
            keep = [i for i in s.sources if i in msgs]
            if not keep:
                return None
            p = Planned(summary_id(key, s.level, keep, []), s.level, tuple(keep), (),
                        msgs[keep[0]].seq, msgs[keep[-1]].seq)
            items = message_items([msgs[i] for i in keep])
        else:
            kids = [k for k in (resolve(c) for c in s.children) if k is not None]  # type: ignore[operator]
            if not kids:
                return None
            p = Planned(summary_id(key, s.level, [], [k.id for k in kids]), s.level, (),
                        tuple(k.id for k in kids), min(k.first_seq for k in kids),
                        max(k.last_seq for k in kids))
            items = [SourceItem(k.id, "summary", k.content) for k in kids]
        return stored.get(p.id) or self.compactor.make(p, items)

    def verify(self, erased_texts: Sequence[str]) -> Verification:
        """Checkpoint, then search every store for the distinctive n-grams."""
        self.store.checkpoint()
        keep, common = needles(erased_texts, self.store.message_texts(), self.n)
        stores = self.store.scan(keep) + self.indexes.scan(keep)
        for x in self.extra_stores():
            stores += x.scan(keep)
        stores.append(scan_bytes(self.store.raw_files(), keep))
        return verification(self.n, keep, common, stores)


def _merge(first: list[VersionRewrite], second: list[VersionRewrite]) -> list[VersionRewrite]:
    """One rewrite per version: the hash before the erasure and after its recompute."""
    out = {r.version: r for r in first}
    for r in second:
        old = out[r.version].old_hash if r.version in out else r.old_hash
        out[r.version] = VersionRewrite(r.version, old, r.new_hash)
    return [out[v] for v in sorted(out)]


def _recomputed(start: ErasureStart, repl: dict[str, Summary | None],
                new_hashes: dict[str, str]) -> list[Recomputed]:
    out = []
    for a in start.affected:
        new = repl.get(a.summary.id)
        out.append(Recomputed(a.summary.id, new.id if new else None, a.content_hash,
                              new_hashes.get(a.summary.id)))
    return out
