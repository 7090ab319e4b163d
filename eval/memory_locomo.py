"""LoCoMo conversations (snap-research/LoCoMo format, ``../shared/data/memory``) as
memory input: one message per turn and the questions with their answers.

A turn becomes ``{"session_id": sample_id, "id": dia_id, "role", "content", "ts"}``:
``role`` user for ``speaker_a`` and assistant for ``speaker_b`` (both are people, so the
content starts with the speaker's name, ``"Caroline: ..."``), a shared photo's caption is
kept as ``[shares a photo of ...]``, and ``ts`` is the session's date and time (plus one
second per turn, to keep the order).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serve.memory.errors import InvalidInput
from serve.memory.jsonl import Row
from serve.memory.types import NewMessage

_SESSION = re.compile(r"^session_(\d+)$")


@dataclass(frozen=True)
class Question:
    text: str
    answer: str
    category: int
    evidence: tuple[str, ...]


@dataclass
class Conversation:
    sample_id: str
    rows: list[Row]
    questions: list[Question]


def parse_when(text: str, where: str) -> float:
    """``"1:56 pm on 8 May, 2023"`` -> unix seconds (UTC)."""
    try:
        t = dt.datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError as exc:
        raise InvalidInput(f"{where}: expected a date like '1:56 pm on 8 May, 2023', "
                           f"got {text!r}") from exc
    return t.replace(tzinfo=dt.UTC).timestamp()


def _turns(sid: str, conv: dict[str, Any], where: str) -> list[Row]:
    a = conv.get("speaker_a")
    nums = sorted(int(m.group(1)) for k in conv if (m := _SESSION.match(k)))
    rows = []
    for n in nums:
        ts = parse_when(str(conv.get(f"session_{n}_date_time", "")),
                        f"{where}.session_{n}_date_time")
        for k, t in enumerate(conv[f"session_{n}"]):
            w = f"{where}.session_{n}[{k}]"
            if not all(isinstance(t.get(f), str) for f in ("speaker", "dia_id", "text")):
                raise InvalidInput(f"{w}: expected string fields speaker, dia_id, text")
            text = f"{t['speaker']}: {t['text']}"
            if t.get("blip_caption"):
                text += f" [shares {t['blip_caption']}]"
            role = "user" if t["speaker"] == a else "assistant"
            rows.append(Row(sid, NewMessage(t["dia_id"], role, text, ts + k)))
    return rows


def load(path: Path) -> list[Conversation]:
    """Every conversation of a LoCoMo-format JSON file."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"--data {path}: cannot read LoCoMo JSON ({exc})") from exc
    if not isinstance(doc, list) or not doc:
        raise InvalidInput(f"--data {path}: expected a JSON list of conversations")
    out = []
    for i, item in enumerate(doc):
        where = f"{path.name}[{i}]"
        if not isinstance(item, dict) or "conversation" not in item or "qa" not in item:
            raise InvalidInput(f"{where}: expected fields 'conversation' and 'qa'")
        sid = str(item.get("sample_id", f"conv-{i}"))
        qs = [Question(q["question"], str(q["answer"]), int(q["category"]),
                       tuple(q.get("evidence") or ()))
              for q in item["qa"] if q.get("answer") is not None]
        out.append(Conversation(sid, _turns(sid, item["conversation"], where), qs))
    return out


def write_jsonl(convs: list[Conversation], path: Path) -> int:
    """The conversations as ``lmroute memory build`` input; returns the line count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for c in convs:
            for r in c.rows:
                m = r.message
                f.write(json.dumps({"session_id": r.session_id, "id": m.id, "role": m.role,
                                    "content": m.content, "ts": m.ts}, ensure_ascii=False))
                f.write("\n")
                n += 1
    return n
