"""Broken inputs for the commands that read files: each ``BadFile`` is a path (made in a
temp dir) that a command must refuse with one clear line and exit 2.

Kinds of input, and what is made for each:
- ``parquet``: a canonical log truncated half-way, without a required column, with a
  column of the wrong type, JSON text under a .parquet name, empty, random bytes;
- ``jsonl`` / ``csv``: UTF-16 text, Latin-1 bytes (not UTF-8), a torn last line, a line
  that is not an object, empty, a header only, random bytes;
- ``dir`` (an artifact or store directory): empty, a file instead, garbage in its files;
- every kind: a path that does not exist, and a directory where a file is expected.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class BadFile:
    name: str
    path: Path


def _good_log(path: Path, n: int = 40) -> pa.Table:
    from data.io import write_parquet
    from data.synthetic import make_synthetic

    write_parquet(make_synthetic(n, models=3, seed=0).frame, path)
    return pq.read_table(path)


def _common(root: Path, suffix: str) -> list[BadFile]:
    d = root / f"a_directory{suffix}"
    d.mkdir()
    (root / f"empty{suffix}").write_bytes(b"")
    (root / f"random{suffix}").write_bytes(os.urandom(3000))
    return [BadFile("missing", root / f"does_not_exist{suffix}"), BadFile("a directory", d),
            BadFile("empty", root / f"empty{suffix}"),
            BadFile("random bytes", root / f"random{suffix}")]


def parquet_files(root: Path) -> list[BadFile]:
    root.mkdir(parents=True, exist_ok=True)
    good = root / "good.parquet"
    table = _good_log(good)
    raw = good.read_bytes()
    (root / "truncated.parquet").write_bytes(raw[: len(raw) // 2])
    pq.write_table(table.drop(["model"]), root / "no_model_column.parquet")
    i = table.schema.get_field_index("cost_usd")
    typed = table.set_column(i, "cost_usd", pa.array(["cheap"] * table.num_rows))
    pq.write_table(typed, root / "cost_as_text.parquet")
    (root / "json_inside.parquet").write_text(json.dumps({"not": "parquet"}))
    return [*_common(root, ".parquet"),
            BadFile("truncated parquet", root / "truncated.parquet"),
            BadFile("missing column", root / "no_model_column.parquet"),
            BadFile("wrong column type", root / "cost_as_text.parquet"),
            BadFile("JSON named .parquet", root / "json_inside.parquet")]


def text_files(root: Path, suffix: str, line: dict[str, object]) -> list[BadFile]:
    """Broken JSONL / CSV files; ``line`` is one valid record of the format."""
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps(line) if suffix == ".jsonl" else ",".join(line) + "\n" + ",".join(
        str(v) for v in line.values())
    (root / f"utf16{suffix}").write_bytes((text + "\n").encode("utf-16"))
    (root / f"latin1{suffix}").write_bytes(text.replace("a", "\xe9").encode("latin-1")
                                           + b"\n\xff\xfe\n")
    torn = json.dumps(line) + "\n" + json.dumps(line)[: len(json.dumps(line)) // 2]
    (root / f"torn{suffix}").write_text(torn if suffix == ".jsonl" else text[:-3] + '"\n')
    (root / f"not_object{suffix}").write_text("[1, 2, 3]\n" if suffix == ".jsonl"
                                              else ",".join(line) + "\n1,2\n3\n")
    return [*_common(root, suffix),
            BadFile("UTF-16", root / f"utf16{suffix}"),
            BadFile("Latin-1 bytes", root / f"latin1{suffix}"),
            BadFile("torn last line", root / f"torn{suffix}"),
            BadFile("not an object / ragged", root / f"not_object{suffix}")]


def dirs(root: Path, names: tuple[str, ...]) -> list[BadFile]:
    """Broken directories whose files are ``names`` (e.g. router.onnx, manifest.json)."""
    root.mkdir(parents=True, exist_ok=True)
    empty = root / "empty_dir"
    empty.mkdir()
    (root / "a_file").write_text("not a directory")
    garbage = root / "garbage_dir"
    garbage.mkdir()
    for n in names:
        (garbage / n).write_bytes(b"\x00garbage{" + os.urandom(64))
    return [BadFile("missing", root / "no_such_dir"), BadFile("empty dir", empty),
            BadFile("a file, not a dir", root / "a_file"),
            BadFile("garbage files", garbage)]
