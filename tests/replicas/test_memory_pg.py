"""The conversation memory in PostgreSQL, shared by two services (= two replicas): what one
appends the other reads; an erasure through one is verified clean through the other (the
memory's own eraser and scan: SQL and the raw relation files); the audit chain stays one
valid chain under concurrent writers. What "erased" means for PostgreSQL's bytes is tested
as claimed in serve/memory/store_pg.py: a DELETE leaves the text in the heap file (negative
control: a committed DELETE is not an erasure of bytes), ``VACUUM FULL`` (the store's
``checkpoint``) removes it from every relation file, and the write-ahead log still holds
it."""

from __future__ import annotations

import glob
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from serve.memory.config import MemoryConfig
from serve.memory.service import MemoryService, build_service
from serve.memory.store_pg import PostgresStore
from serve.memory.types import NewMessage
from serve.memory.verify import needles, scan_bytes
from tests.replicas.services import SERVERS, Postgres

pytestmark = SERVERS
CANARY = "CANARY-pg-4471 walrus saxophone meridian"


def _svc(pg: Postgres, schema: str, key_file: Path) -> MemoryService:
    cfg = MemoryConfig(store="postgres", postgres_dsn=pg.dsn, postgres_schema=schema,
                       key_file=str(key_file), retrieval="bm25", background=False,
                       ttl_sweep_s=0.0)
    cfg.summarizer.name = "stub"  # quotes its sources verbatim: erasure must recompute
    return build_service(cfg)


@pytest.fixture
def pair(pg_server: Postgres, ns: str, tmp_path: Path) -> Iterator[tuple[MemoryService,
                                                                         MemoryService]]:
    a, b = _svc(pg_server, ns, tmp_path / "k"), _svc(pg_server, ns, tmp_path / "k")
    yield a, b
    a.close()
    b.close()


def _conversation(n: int, canary_at: int) -> list[NewMessage]:
    return [NewMessage(f"u{i}", "user" if i % 2 == 0 else "assistant",
                       (f"My secret note says {CANARY} and vault {9000 + i}." if i == canary_at
                        else f"Message {i}: the garden tomatoes and number {i * 37 % 101}."),
                       1.7e9 + 60.0 * i) for i in range(n)]


def _raw_hits(store: PostgresStore) -> int:
    """Hits in the relation files, once every dirty page is on disk."""
    store._conn().conn.execute("CHECKPOINT")
    keep, _ = needles([CANARY], [])
    return scan_bytes(store.raw_files(), keep).hits


def test_erasure_through_one_replica_is_verified_through_the_other(pair) -> None:
    a, b = pair
    for m in _conversation(40, canary_at=7):
        a.append("k1", "s1", [m])
    a.compact_now("k1", "s1")
    assert any(CANARY in s.content for s in b.store.all_summaries("k1", "s1"))
    assert [m.id for m in b.state("k1", "s1").messages][:3] == ["u0", "u1", "u2"]
    assert isinstance(a.store, PostgresStore) and a.store.raw_files()  # raw scan is real
    assert _raw_hits(a.store) > 0  # negative control: the bytes are there before
    receipt = a.erase("k1", "s1", ["u7"], reason="gdpr request")
    assert receipt.verification is not None and receipt.verification.clean
    state = b.state("k1", "s1")  # the other replica
    assert "u7" not in {m.id for m in state.messages}
    assert [t.id for t in state.tombstones] == ["u7"]
    assert not any(CANARY in s.content for s in b.store.all_summaries("k1", "s1"))
    assert all(hit.hits == 0 for hit in b.store.scan(needles([CANARY], [])[0]))
    assert _raw_hits(b.store) == 0  # no relation file holds the bytes any more
    entries, report = b.audit("k1", "s1")
    assert report.ok and entries[-1].action == "erase_verified"


def test_delete_alone_leaves_the_bytes_in_the_heap_and_the_wal_keeps_them(
        pg_server: Postgres, ns: str, tmp_path: Path) -> None:
    store = PostgresStore(pg_server.dsn, tmp_path / "k", ns, rewrite_on_erase=False)
    store.append("k1", "s1", [NewMessage("x1", "user", f"note {CANARY}", 1.7e9),
                              NewMessage("x2", "user", "a live message", 1.7e9 + 1)], "k1")
    with psycopg.connect(pg_server.dsn, autocommit=True) as c:
        c.execute(f"DELETE FROM {ns}.messages WHERE msg_id = 'x1'")
        wal_dir = Path(c.execute("SHOW data_directory").fetchone()[0]) / "pg_wal"
    store.checkpoint()  # rewrite off: nothing is rewritten
    assert _raw_hits(store) > 0  # committed DELETE, yet the text is still in the heap file
    store.rewrite_on_erase = True
    store.checkpoint()  # VACUUM FULL: the tables are rewritten with live rows only
    assert _raw_hits(store) == 0
    keep, _ = needles([CANARY], [])
    wal = [Path(p) for p in glob.glob(str(wal_dir / "0*"))]
    assert scan_bytes(wal, keep).hits > 0  # the WAL still has it (docs/scale.md says so)
    store.close()


def test_concurrent_writers_on_two_replicas_keep_one_valid_audit_chain(pair) -> None:
    a, b = pair
    errors: list[BaseException] = []

    def writer(svc: MemoryService, tag: str) -> None:
        try:
            for i in range(15):
                svc.append("k1", f"s-{tag}", [NewMessage(f"{tag}{i}", "user", f"hello {i}",
                                                         1.7e9 + i)])
        except BaseException as exc:
            errors.append(exc)

    ts = [threading.Thread(target=writer, args=(s, t)) for s, t in ((a, "a"), (b, "b"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    entries, report = a.audit("k1")
    assert report.ok
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) == 30
