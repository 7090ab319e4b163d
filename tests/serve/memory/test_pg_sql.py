"""The SQLite -> PostgreSQL statement translation the PostgreSQL memory store runs on
(serve/memory/pg_sql.py); the store itself is tested against a real server in
tests/replicas/test_memory_pg.py."""

from __future__ import annotations

import pytest

from serve.memory.pg_sql import translate


def test_statements_of_the_memory_store_translate() -> None:
    assert translate("SELECT a FROM t WHERE x = ? AND y = ?") == \
        "SELECT a FROM t WHERE x = %s AND y = %s"
    assert translate("INSERT OR IGNORE INTO summaries VALUES (?,?)") == \
        "INSERT INTO summaries VALUES (%s,%s) ON CONFLICT DO NOTHING"
    assert translate("SELECT 1 FROM s WHERE instr(children, ?) > 0") == \
        "SELECT 1 FROM s WHERE strpos(children, %s) > 0"
    assert translate("SELECT '5%' FROM t WHERE a LIKE ?") == "SELECT '5%%' FROM t WHERE a LIKE %s"
    with pytest.raises(ValueError, match="pragma"):
        translate("PRAGMA wal_checkpoint(TRUNCATE)")
