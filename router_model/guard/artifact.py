"""Open and verify a guard artifact directory.

``guard.onnx`` (+ ``guard_int8.onnx``), ``manifest.json``, ``tokenizer.json``. The same
checks as the router's artifact (``router_model.artifact``, whose ONNX check is reused):
files present, manifest readable and of a known kind / version, graph hash and embedded
manifest equal to ``manifest.json``, tokenizer hash equal to the manifest's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from router_model.artifact import Artifact, ArtifactError, _check_onnx, read_manifest_json
from router_model.guard.manifest import GUARD_FORMAT_VERSION, KIND
from router_model.tokenization import file_sha256

REQUIRED = ("kind", "format_version", "categories", "tags", "thresholds", "windows",
            "checks", "tokenizer", "onnx_sha256")
NGRAM = "ngram.onnx"
__all__ = ["NGRAM", "ArtifactError", "GuardArtifact", "ngram_graph", "open_guard_artifact"]


GuardArtifact = Artifact  # the same verified files: ONNX bytes, manifest, tokenizer


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = read_manifest_json(path, REQUIRED, " (not a guard artifact?)")
    if manifest["kind"] != KIND or manifest["format_version"] != GUARD_FORMAT_VERSION:
        raise ArtifactError(f"{path}: kind {manifest['kind']!r} version "
                            f"{manifest['format_version']!r}; this runtime reads {KIND!r} "
                            f"version {GUARD_FORMAT_VERSION}")
    return manifest


def open_guard_artifact(directory: str | Path, int8: bool = False) -> GuardArtifact:
    """Verify and open a guard artifact; ``int8`` picks guard_int8.onnx."""
    d = Path(directory)
    onnx_path = d / ("guard_int8.onnx" if int8 else "guard.onnx")
    for p in (onnx_path, d / "manifest.json", d / "tokenizer.json"):
        if not p.is_file():
            raise ArtifactError(f"{p}: missing (not a guard artifact directory?)")
    manifest = _read_manifest(d / "manifest.json")
    expected = (manifest.get("int8") or {}).get("onnx_sha256") if int8 \
        else manifest["onnx_sha256"]
    data = _check_onnx(onnx_path, manifest, expected)
    tok = d / "tokenizer.json"
    if file_sha256(tok) != manifest["tokenizer"].get("sha256"):
        raise ArtifactError(f"{tok}: sha256 differs from manifest tokenizer.sha256")
    return GuardArtifact(d, onnx_path, data, manifest, tok)


def ngram_graph(directory: str | Path, manifest: dict[str, Any]) -> bytes | None:
    """The verified bytes of the character n-gram scorer ``ngram.onnx`` when the
    manifest lists one (``manifest["ngram"]``, with its file's sha256), else None."""
    entry = manifest.get("ngram")
    if not entry:
        return None
    path = Path(directory) / NGRAM
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (the manifest lists an n-gram scorer)")
    if file_sha256(path) != entry.get("sha256"):
        raise ArtifactError(f"{path}: sha256 differs from manifest ngram.sha256")
    return path.read_bytes()
