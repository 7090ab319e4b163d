"""Reading ``lmroute memory build`` input: one message per line,
``{"session_id", "id", "role", "content", "ts"}`` (``ts``: unix seconds or ISO 8601).
Every problem is reported with its line and field; nothing is skipped silently."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serve.memory.errors import InvalidInput
from serve.memory.service import check_message
from serve.memory.types import NewMessage

FIELDS = ("session_id", "id", "role", "content", "ts")


@dataclass(frozen=True)
class Row:
    session_id: str
    message: NewMessage


def parse_ts(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: expected unix seconds or an ISO 8601 string, got {value}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(f"{where}: expected ISO 8601, got {value!r}") from exc
        return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()
    raise InvalidInput(f"{where}: expected unix seconds or an ISO 8601 string, got {value!r}")


def parse_line(line: str, where: str) -> Row:
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"{where}: expected a JSON object with fields {list(FIELDS)}")
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        raise InvalidInput(f"{where}: missing field {missing[0]!r} (expected {list(FIELDS)})")
    sid = doc["session_id"]
    if not isinstance(sid, str) or not sid or len(sid) > 200:
        raise InvalidInput(f"{where}: field 'session_id': expected a non-empty string")
    if not isinstance(doc["id"], str):
        raise InvalidInput(f"{where}: field 'id': expected a string, got {doc['id']!r}")
    m = NewMessage(doc["id"], doc["role"], doc["content"], parse_ts(doc["ts"], f"{where}: "
                                                                    "field 'ts'"))
    check_message(m, where)
    return Row(sid, m)


def read_messages(path: Path) -> list[Row]:
    """All rows in file order; ``InvalidInput`` naming the first bad line."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = parse_line(line, f"{path.name} line {n}")
            key = (row.session_id, row.message.id)
            if key in seen:
                raise InvalidInput(f"{path.name} line {n}: field 'id': {row.message.id!r} "
                                   f"repeats an earlier message of session {row.session_id!r}")
            seen.add(key)
            rows.append(row)
    if not rows:
        raise InvalidInput(f"{path}: no messages (expected one JSON object per line)")
    return rows
