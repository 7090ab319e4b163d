"""``lmroute guard scan --guard DIR IN.jsonl [--out OUT.jsonl]``.

Reads lines ``{"id", "text"}`` and writes one line per input, in input order:
``{"id", "verdict", "scores": {category: float in [0, 1]}, "categories": [...],
"pii": [{"entity_type", "start", "end"}], "redacted", "micros"}`` (``start`` / ``end`` are
character offsets into ``text``). The whole input is validated before anything is
written: a bad line ends the command with ``IN.jsonl:LINE: what was expected`` and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from router_model.guard.artifact import ArtifactError
from router_model.guard.policy import PRESETS, make_policy
from router_model.guard.rules import DEFAULT_RULES
from router_model.guard.runtime import Guard


class ScanInputError(ValueError):
    """A line of the input is not ``{"id", "text"}``."""


def read_requests(path: Path) -> list[tuple[Any, str]]:
    """All (id, text) pairs of a JSONL file, or ``ScanInputError`` naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ScanInputError(f"{path}: cannot read ({e})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ScanInputError(f"{path}:{n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise ScanInputError(f"{path}:{n}: expected an object {{\"id\", \"text\"}}")
        if "id" not in row:
            raise ScanInputError(f"{path}:{n}: field 'id' missing")
        if not isinstance(row.get("text"), str):
            raise ScanInputError(f"{path}:{n}: field 'text' missing or not a string")
        out.append((row["id"], row["text"]))
    return out


def scan(guard: Guard, requests: list[tuple[Any, str]], preset: str,
         progress: bool) -> Iterator[dict[str, Any]]:
    policy = make_policy(preset)
    for id_, text in tqdm(requests, desc="scan", unit="text", disable=not progress,
                          file=sys.stderr):
        yield guard.check(text, policy, DEFAULT_RULES).scan_record(id_)


def _write(records: Iterator[dict[str, Any]], out: TextIO) -> None:
    for r in records:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="lmroute guard scan", description=__doc__)
    ap.add_argument("--guard", required=True, type=Path, help="guard artifact directory")
    ap.add_argument("input", type=Path, help="JSONL, one {\"id\", \"text\"} per line")
    ap.add_argument("--out", type=Path, help="output JSONL (default: stdout)")
    ap.add_argument("--policy", default="balanced", choices=sorted(PRESETS))
    ap.add_argument("--int8", action="store_true", help="use the int8 graph")
    args = ap.parse_args(argv)
    try:
        requests = read_requests(args.input)
        guard = Guard.load(args.guard, int8=args.int8)
    except (ScanInputError, ArtifactError) as e:
        print(f"lmroute guard scan: error: {e}", file=sys.stderr)
        return 2
    if args.out is None:
        _write(scan(guard, requests, args.policy, progress=False), sys.stdout)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        _write(scan(guard, requests, args.policy, progress=True), f)
    tmp.replace(args.out)
    return 0
