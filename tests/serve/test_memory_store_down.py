"""A memory store that cannot be used (SQLite locked past its timeout, PostgreSQL down) is
a 503 ``state_unavailable`` with Retry-After on the request path and the endpoints, never
a 500; after the answer was sent, a failed append is logged on the row, not raised."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from serve.errors import GatewayError
from serve.memory.errors import InvalidInput
from serve.stages.memory import MemoryStage, run_memory


async def _run_sync(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _raise(exc: BaseException) -> Any:
    def fn(*_: Any) -> Any:
        raise exc
    return fn


def _psycopg_error() -> BaseException:
    psycopg = pytest.importorskip("psycopg")
    return psycopg.OperationalError("connection refused")


@pytest.mark.parametrize("make", [lambda: sqlite3.OperationalError("database is locked"),
                                  _psycopg_error])
def test_an_unusable_store_is_a_503_with_retry_after(make: Any) -> None:
    with pytest.raises(GatewayError) as info:
        asyncio.run(run_memory(_run_sync, _raise(make())))
    e = info.value
    assert e.status == 503 and e.code == "state_unavailable"
    assert e.headers["retry-after"] == "1" and "locked" not in e.message  # no driver detail


def test_the_services_own_errors_keep_their_status() -> None:
    with pytest.raises(GatewayError) as info:
        asyncio.run(run_memory(_run_sync, _raise(InvalidInput("budget_tokens: too small"))))
    assert info.value.status == 400 and info.value.code == "memory_error"
    assert info.value.message == "memory: budget_tokens: too small"


class _Svc:
    run_sync = staticmethod(_run_sync)


class _Ctx:
    answer_complete, status, error = True, 200, None
    request_id, answer_text = "r1", "an answer"

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"memory": {"owner": "k", "session": "s", "turn": "hi"}}


def test_a_failed_append_after_the_answer_is_logged_not_raised() -> None:
    stage = MemoryStage(db_path=":memory:", summarizer={"name": "stub"})

    class Down:
        append = staticmethod(_raise(sqlite3.OperationalError("database is locked")))

    stage.memory = Down()  # type: ignore[assignment]
    ctx = _Ctx()
    asyncio.run(stage.finish(ctx, _Svc()))  # type: ignore[arg-type]
    assert ctx.state["memory"]["log"] == {"appended": False, "error": "state_unavailable"}
