"""Fixtures of the multi-replica tests (`make test-replicas`): a Redis and a PostgreSQL
started by scripts/services/*.sh for the session, and a fresh namespace per test so tests
never see each other's keys. Every module here sets ``pytestmark = SERVERS`` (``slow``:
not in the default run, ``integration``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.replicas.services import Postgres, Redis, ServiceUnavailable, new_postgres, new_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    try:
        srv = new_redis()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Postgres]:
    try:
        srv = new_postgres()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    yield srv
    srv.stop()


@pytest.fixture
def ns() -> str:
    """A namespace of its own for each test (Redis key prefix, PostgreSQL table prefix)."""
    return "t" + uuid.uuid4().hex[:10]
