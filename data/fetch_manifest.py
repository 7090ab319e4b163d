"""The fetch manifest (``data/fetch_manifest.json``): where each public data file comes from.

One entry per file of ``../shared/data``, with its size and SHA-256 and one of three
sources:

* ``verbatim``: the file itself, at a pinned commit or revision (``urls`` are mirrors of
  the same bytes, tried in order);
* ``derived``: rebuilt deterministically from pinned public ``inputs`` by a named
  transform (``data.fetch_transforms``), then checked against the same SHA-256;
* ``unavailable``: cannot be rebuilt from public files; ``reason`` says why and ``action``
  what the user can do instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

DEFAULT_MANIFEST = Path(__file__).with_name("fetch_manifest.json")
SOURCE_KINDS = ("verbatim", "derived", "unavailable")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SourceInput:
    """One pinned public file a derived file is built from."""

    urls: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class ManifestFile:
    """One file of the data folder: where it comes from and what it must hash to."""

    path: str
    size: int
    sha256: str
    kind: str
    urls: tuple[str, ...] = ()
    inputs: tuple[SourceInput, ...] = ()
    transform: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    derived_from: str = ""
    reason: str = ""
    action: str = ""
    origin: str = ""
    license: str = ""

    @property
    def fetchable(self) -> bool:
        return self.kind != "unavailable"

    def hosts(self) -> tuple[str, ...]:
        """Every URL this file may be downloaded from (mirrors, then derived inputs)."""
        return self.urls + tuple(u for i in self.inputs for u in i.urls)


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest: its files in order, and the file it was read from."""

    files: tuple[ManifestFile, ...]
    source: Path

    def fetchable(self) -> list[ManifestFile]:
        return [f for f in self.files if f.fetchable]

    def unavailable(self) -> list[ManifestFile]:
        return [f for f in self.files if not f.fetchable]


def _need(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in entry:
        raise ValueError(f"{where}: missing field {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}: field {key!r} expected {kind.__name__}, got {value!r}")
    return value


def _urls(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: field 'urls' expected a non-empty list of URLs")
    for url in value:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"{where}: url {url!r} is not an http(s) URL")
    return tuple(value)


def _safe_path(path: str, where: str) -> str:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"{where}: path {path!r} must be relative, without '..'")
    return str(p)


def _source_fields(entry: dict[str, Any], kind: str, where: str) -> dict[str, Any]:
    if kind == "verbatim":
        return {"urls": _urls(entry.get("urls"), where)}
    if kind == "derived":
        raw = _need(entry, "inputs", list, where)
        if not raw:
            raise ValueError(f"{where}: field 'inputs' is empty")
        inputs = tuple(
            SourceInput(_urls(i.get("urls"), f"{where}.inputs[{k}]"), str(i.get("note", "")))
            for k, i in enumerate(raw)
        )
        return {
            "inputs": inputs,
            "transform": _need(entry, "transform", str, where),
            "args": dict(entry.get("args", {})),
            "derived_from": _need(entry, "derived_from", str, where),
        }
    return {
        "reason": _need(entry, "reason", str, where),
        "action": _need(entry, "action", str, where),
    }


def parse_entry(entry: Any, index: int) -> ManifestFile:
    """One manifest entry -> ``ManifestFile``; ``ValueError`` names the entry and field."""
    where = f"files[{index}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    path = _safe_path(_need(entry, "path", str, where), where)
    where = f"files[{index}] ({path})"
    size = _need(entry, "size", int, where)
    sha = _need(entry, "sha256", str, where)
    if not _SHA256.match(sha):
        raise ValueError(f"{where}: sha256 expected 64 lowercase hex digits, got {sha!r}")
    kind = _need(entry, "kind", str, where)
    if kind not in SOURCE_KINDS:
        raise ValueError(f"{where}: kind expected one of {SOURCE_KINDS}, got {kind!r}")
    return ManifestFile(
        path=path,
        size=size,
        sha256=sha,
        kind=kind,
        origin=str(entry.get("origin", "")),
        license=str(entry.get("license", "")),
        **_source_fields(entry, kind, where),
    )


def load_manifest(path: Path = DEFAULT_MANIFEST) -> Manifest:
    """Read and check a manifest file (``ValueError`` / ``FileNotFoundError`` when bad)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise ValueError(f"{path}: expected an object with a 'files' list")
    files = tuple(parse_entry(e, i) for i, e in enumerate(doc["files"]))
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise ValueError(f"{path}: path {f.path!r} listed twice")
        seen.add(f.path)
    return Manifest(files=files, source=Path(path))
