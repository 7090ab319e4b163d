"""``lmroute memory ...``: the exact formats of build / context, the admin commands, and
bad input (exit 2, one line naming the line and field, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serve.memory.cli import main
from tests.serve.memory.conftest import CANARY, conversation


def write_log(path: Path, n: int = 40, canary_at: tuple[int, ...] = (4,)) -> Path:
    with path.open("w") as f:
        for sid in ("alpha", "beta"):
            for m in conversation(n, canary_at=canary_at):
                f.write(json.dumps({"session_id": sid, "id": m.id, "role": m.role,
                                    "content": m.content, "ts": m.ts}) + "\n")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def built(tmp_path: Path, capsys) -> Path:
    log = write_log(tmp_path / "in.jsonl")
    code, out, _ = run(capsys, "build", str(log), "--out", str(tmp_path / "mem"),
                       "--summarizer", "stub", "--budget-tokens", "512")
    assert code == 0
    doc = json.loads(out)
    assert doc["sessions"] == 2 and doc["messages"] == 80 and doc["summaries_head"] > 0
    return tmp_path / "mem"


def test_context_prints_the_messages(built: Path, capsys) -> None:
    code, out, _ = run(capsys, "context", str(built), "--session", "alpha", "--query",
                       "what is the vault code?", "--budget-tokens", "300")
    assert code == 0
    msgs = json.loads(out)
    assert isinstance(msgs, list) and msgs
    assert all(set(m) == {"role", "content"} for m in msgs)
    assert any("vault code 9004" in m["content"] for m in msgs)
    from serve.memory.tokens import make_counter
    from serve.memory.types import ChatMessage

    counter = make_counter("gguf")
    assert counter.count_messages([ChatMessage(**m) for m in msgs]) <= 300


def test_erase_rollback_audit_commands(built: Path, capsys) -> None:
    d = str(built)
    code, out, _ = run(capsys, "erase", d, "--session", "alpha", "--message", "u4",
                       "--reason", "user request")
    receipt = json.loads(out)
    assert code == 0 and receipt["verified_clean"] and receipt["erased_ids"] == ["u4"]
    assert CANARY not in out
    code, out, _ = run(capsys, "versions", d, "--session", "alpha")
    versions = json.loads(out)
    assert code == 0 and versions[-1]["action"] in ("erase", "compact")
    code, out, _ = run(capsys, "rollback", d, "--session", "alpha", "--version", "5",
                       "--reason", "test")
    assert code == 0 and json.loads(out)["action"] == "rollback"
    code, out, _ = run(capsys, "state", d, "--session", "alpha")
    state = json.loads(out)
    assert code == 0 and [t["id"] for t in state["tombstones"]] == ["u4"]
    assert CANARY not in out
    code, out, _ = run(capsys, "audit", d, "--session", "alpha")
    doc = json.loads(out)
    assert code == 0 and doc["verification"]["ok"]
    assert {"append", "compact", "erase", "erase_verified", "rollback"} <= \
        {e["action"] for e in doc["entries"]}
    code, out, _ = run(capsys, "erase", d, "--session", "beta", "--all", "--reason", "bye")
    assert code == 0 and json.loads(out)["scope"] == "session"
    code, _, err = run(capsys, "state", d, "--session", "beta")
    assert code == 2 and "not found" in err


@pytest.mark.parametrize("line,expect", [
    ('{"session_id": "s", "id": "a", "role": "user", "content": "hi"', "line 2: not valid JSON"),
    ('{"session_id": "s", "id": "a", "role": "user", "content": "hi"}', "missing field 'ts'"),
    ('{"session_id": "s", "id": "b", "role": "bot", "content": "hi", "ts": 1}',
     "line 2: field 'role'"),
    ('{"session_id": "s", "id": "x", "role": "user", "content": "hi", "ts": "yesterday"}',
     "field 'ts': expected ISO 8601"),
    ('{"session_id": "s", "id": "x", "role": "user", "content": "again", "ts": 2}',
     "line 2: field 'id': 'x' repeats"),
])
def test_bad_input_exits_2_naming_line_and_field(tmp_path: Path, capsys, line: str,
                                                 expect: str) -> None:
    first = '{"session_id": "s", "id": "x", "role": "user", "content": "hi", "ts": 1}'
    (tmp_path / "bad.jsonl").write_text(first + "\n" + line + "\n")
    code, _, err = run(capsys, "build", str(tmp_path / "bad.jsonl"), "--out",
                       str(tmp_path / "o"))
    assert code == 2 and expect in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_other_errors(built: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "context", str(built), "--session", "nope", "--query", "x",
                       "--budget-tokens", "100")
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "context", str(tmp_path), "--session", "a", "--query", "x",
                       "--budget-tokens", "100")
    assert code == 2 and "not a memory directory" in err
    log = write_log(tmp_path / "again.jsonl", 3)
    code, _, err = run(capsys, "build", str(log), "--out", str(built))
    assert code == 2 and "already holds a memory" in err
    code, _, err = run(capsys, "rollback", str(built), "--session", "alpha", "--version",
                       "999", "--reason", "x")
    assert code == 2 and "not retained" in err
