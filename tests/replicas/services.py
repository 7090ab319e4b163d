"""The replica tests' servers: Redis and PostgreSQL started by the project's scripts
(``serve/bench/stores.py``, shared with `lmroute bench gateway --replicas`)."""

from __future__ import annotations

import pytest

from serve.bench.stores import (
    Postgres,
    Redis,
    ServiceUnavailable,
    new_postgres,
    new_redis,
    remove,
)

SERVERS = [pytest.mark.slow, pytest.mark.integration]  # pytestmark of every module here

__all__ = ["SERVERS", "Postgres", "Redis", "ServiceUnavailable", "new_postgres", "new_redis",
           "remove"]
