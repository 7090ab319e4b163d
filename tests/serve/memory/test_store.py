"""The store: versions and rollback, the 100-version window, key isolation, bad input,
and two concurrent writers on one session."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from serve.memory.errors import InvalidInput, NotFound
from serve.memory.sqlite_store import SqliteStore
from serve.memory.store import MAX_VERSIONS
from serve.memory.types import NewMessage
from tests.serve.memory.conftest import conversation, fill


def test_append_versions_and_rollback(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(5))
    vs = svc.versions("k1", "s1")
    assert [v.version for v in vs] == [1, 2, 3, 4, 5]
    assert [v.n_messages for v in vs] == [1, 2, 3, 4, 5]
    v = svc.rollback("k1", "s1", 2, reason="undo the last three")
    assert v.version == 6 and v.state_hash == vs[1].state_hash
    assert [m.id for m in svc.state("k1", "s1").messages] == ["u0", "u1"]
    # the rolled-back messages are still in version 5: roll forward again
    svc.rollback("k1", "s1", 5, reason="redo")
    assert len(svc.state("k1", "s1").messages) == 5
    assert svc.state("k1", "s1", version=3).messages[-1].id == "u2"


def test_only_the_last_100_versions_are_kept(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(MAX_VERSIONS + 5))
    vs = svc.versions("k1", "s1")
    assert len(vs) == MAX_VERSIONS and vs[0].version == 6
    svc.rollback("k1", "s1", 6, reason="oldest retained")
    with pytest.raises(NotFound, match="not retained"):
        svc.rollback("k1", "s1", 5, reason="too old")


def test_a_key_only_sees_its_own_sessions(make_service) -> None:
    svc = make_service()
    fill(svc, conversation(3), owner="alice", session="shared-name")
    fill(svc, conversation(2), owner="bob", session="shared-name")
    assert len(svc.state("alice", "shared-name").messages) == 3
    assert len(svc.state("bob", "shared-name").messages) == 2
    assert svc.store.sessions("mallory") == []
    for call in (lambda: svc.state("mallory", "shared-name"),
                 lambda: svc.versions("mallory", "shared-name"),
                 lambda: svc.rollback("mallory", "shared-name", 1, reason="x"),
                 lambda: svc.erase("mallory", "shared-name", ["u0"], reason="x")):
        with pytest.raises(NotFound):
            call()
    assert svc.context("mallory", "shared-name", "violin", 200).messages == []
    entries, report = svc.audit("mallory", "shared-name")
    assert entries == [] and report.ok


def test_bad_input_names_the_field(make_service) -> None:
    svc = make_service()
    with pytest.raises(InvalidInput, match=r"messages\[0\]: field 'role'"):
        svc.append("k1", "s1", [NewMessage("a", "robot", "hi", 1.0)])
    with pytest.raises(InvalidInput, match="field 'ts'"):
        svc.append("k1", "s1", [NewMessage("a", "user", "hi", float("nan"))])
    svc.append("k1", "s1", [NewMessage("a", "user", "hi", 1.0)])
    with pytest.raises(InvalidInput, match="already in this session"):
        svc.append("k1", "s1", [NewMessage("a", "user", "again", 2.0)])
    with pytest.raises(InvalidInput, match="reason"):
        svc.rollback("k1", "s1", 1, reason=" ")
    assert len(svc.versions("k1", "s1")) == 1  # the failed appends left nothing


@pytest.mark.parametrize("two_stores", [False, True])
def test_two_concurrent_writers_lose_nothing(tmp_path: Path, two_stores: bool) -> None:
    """Two threads (one store, or two stores on one file, like two workers) append to one
    session at once: every message lands, versions are contiguous, each adds one."""
    a = SqliteStore(tmp_path / "c.sqlite")
    b = SqliteStore(tmp_path / "c.sqlite") if two_stores else a
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(store: SqliteStore, tag: str) -> None:
        try:
            barrier.wait()
            for i in range(40):
                store.append("k", "s", [NewMessage(f"{tag}{i}", "user", f"{tag} says {i}",
                                                   float(i))], actor=tag)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, t)) for s, t in ((a, "x"), (b, "y"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [m.id for m in a.head("k", "s").messages]
    assert sorted(ids) == sorted([f"x{i}" for i in range(40)] + [f"y{i}" for i in range(40)])
    assert [i for i in ids if i[0] == "x"] == [f"x{i}" for i in range(40)]  # order kept
    vs = a.versions("k", "s")
    assert [v.version for v in vs] == list(range(1, 81))
    assert [v.n_messages for v in vs] == [v.version for v in vs]
    assert a.verify_audit().ok
    a.close()
    b.close()
