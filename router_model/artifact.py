"""Open and verify a router artifact directory (router.onnx, manifest.json, tokenizer.json).

Every inconsistency is an ``ArtifactError`` naming the file and what is wrong: a
missing file, unreadable JSON, a format version this code does not know, a graph
whose hash differs from the manifest, a manifest in the ONNX metadata that differs
from manifest.json, a tokenizer whose hash differs from the manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from router_model.manifest import FORMAT_VERSION, METADATA_KEY, graph_sha256
from router_model.tokenization import file_sha256

REQUIRED_KEYS = ("format_version", "models", "tokenizer", "featurizer", "policy",
                 "onnx_sha256")


class ArtifactError(RuntimeError):
    """The artifact is missing, corrupt or inconsistent."""


@dataclass
class Artifact:
    """A verified artifact: the ONNX bytes to load, its manifest, its tokenizer path."""

    directory: Path
    onnx_path: Path
    onnx_bytes: bytes
    manifest: dict[str, Any]
    tokenizer_path: Path


def read_manifest_json(path: Path, required: tuple[str, ...], hint: str = ""
                       ) -> dict[str, Any]:
    """``manifest.json`` as a dict holding every ``required`` key (router and guard
    artifacts); ``hint`` ends the missing-keys message."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{path}: not a readable JSON manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    missing = [k for k in required if k not in manifest]
    if missing:
        raise ArtifactError(f"{path}: manifest lacks keys {missing}{hint}")
    return manifest


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = read_manifest_json(path, REQUIRED_KEYS)
    if manifest["format_version"] != FORMAT_VERSION:
        raise ArtifactError(f"{path}: format_version {manifest['format_version']!r}, "
                            f"this runtime reads {FORMAT_VERSION}")
    return manifest


def _check_onnx(path: Path, manifest: dict[str, Any], expected_sha: object) -> bytes:
    try:
        data = path.read_bytes()
        model = onnx.load_from_string(data)
    except Exception as e:  # protobuf raises several types on corrupt bytes
        raise ArtifactError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    if graph_sha256(model) != expected_sha:
        raise ArtifactError(f"{path}: graph sha256 differs from the one in manifest.json "
                            "(corrupt or mismatched files)")
    meta = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in meta or json.loads(meta[METADATA_KEY]) != manifest:
        raise ArtifactError(f"{path}: embedded manifest differs from manifest.json")
    return data


def open_artifact(directory: str | Path, int8: bool = False) -> Artifact:
    """Verify and open an artifact directory; ``int8`` picks router_int8.onnx."""
    d = Path(directory)
    onnx_path = d / ("router_int8.onnx" if int8 else "router.onnx")
    for p in (onnx_path, d / "manifest.json", d / "tokenizer.json"):
        if not p.is_file():
            raise ArtifactError(f"{p}: missing (not a router artifact directory?)")
    manifest = _read_manifest(d / "manifest.json")
    expected = (manifest.get("int8") or {}).get("onnx_sha256") if int8 \
        else manifest["onnx_sha256"]
    data = _check_onnx(onnx_path, manifest, expected)
    tok_path = d / "tokenizer.json"
    if file_sha256(tok_path) != manifest["tokenizer"].get("sha256"):
        raise ArtifactError(f"{tok_path}: sha256 differs from manifest tokenizer.sha256 "
                            "(tokenizer mismatch)")
    return Artifact(d, onnx_path, data, manifest, tok_path)
