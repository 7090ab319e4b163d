"""The learned hit verifier at serving time: a verified ONNX artifact, one CPU thread.

An artifact directory holds ``verifier.onnx``, ``manifest.json`` (also embedded in the
ONNX metadata under ``lmroute_cache_verifier``) and ``tokenizer.json``. ``load`` refuses
a missing file, a graph or tokenizer whose SHA-256 differs from the manifest, or an
unknown format version, with ``VerifierError`` naming the file.

``score(query, candidates) -> (k,)`` calibrated probabilities that one answer serves
both texts. A text longer than the model's window (``max_tokens``) cannot be judged
whole: ``fits`` is False and the cache never serves it semantically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
KIND = "lmroute-cache-verifier"
METADATA_KEY = "lmroute_cache_verifier"
FILES = ("verifier.onnx", "manifest.json", "tokenizer.json")


class VerifierError(RuntimeError):
    """A missing, corrupt or inconsistent verifier artifact."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """manifest.json of a verifier artifact, checked for kind and format version."""
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise VerifierError(f"{path}: not a readable JSON manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise VerifierError(f"{path}: not a cache verifier manifest (kind != {KIND!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise VerifierError(f"{path}: format_version {manifest.get('format_version')!r}, "
                            f"this runtime reads {FORMAT_VERSION}")
    return manifest


def verify_files(directory: Path) -> tuple[bytes, dict[str, Any]]:
    """The ONNX bytes and manifest, after the hash and metadata checks."""
    import onnx

    for name in FILES:
        if not (directory / name).is_file():
            raise VerifierError(f"{directory / name}: missing (not a verifier artifact?)")
    from router_model.export import graph_sha256

    manifest = read_manifest(directory)
    path = directory / "verifier.onnx"
    data = path.read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception as e:  # protobuf raises several types on corrupt bytes
        raise VerifierError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    if graph_sha256(model) != manifest.get("onnx_sha256"):
        raise VerifierError(f"{path}: graph sha256 differs from manifest.json")
    tok = (directory / "tokenizer.json").read_bytes()
    if _sha256(tok) != manifest.get("tokenizer", {}).get("sha256"):
        raise VerifierError(f"{directory / 'tokenizer.json'}: sha256 differs from manifest")
    meta = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in meta or json.loads(meta[METADATA_KEY]) != manifest:
        raise VerifierError(f"{path}: embedded manifest differs from manifest.json")
    return data, manifest


class Verifier:
    """A loaded verifier (see module). Thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, directory: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        from router_model.runtime import session_options
        from router_model.tokenization import load_tokenizer

        self.directory = Path(directory)
        data, self.manifest = verify_files(self.directory)
        self.max_tokens = int(self.manifest["tokenizer"]["max_tokens"])
        # truncation is off: a text longer than the window is refused, never cut
        self.tokenizer = load_tokenizer(512, self.directory / "tokenizer.json")
        self.tokenizer.no_truncation()
        self._session = ort.InferenceSession(data, session_options(threads),
                                             providers=["CPUExecutionProvider"])
        self.operating_point: dict[str, Any] = dict(self.manifest["operating_point"])

    @property
    def threshold(self) -> float:
        return float(self.operating_point["threshold"])

    def ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def fits(self, ids: Sequence[int]) -> bool:
        return len(ids) <= self.max_tokens

    @staticmethod
    def _pack(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        return ids, mask

    def score_ids(self, query: Sequence[int], candidates: Sequence[Sequence[int]]
                  ) -> np.ndarray:
        """(k,) probabilities for one query against k candidates (token ids)."""
        if not candidates:
            return np.zeros(0, np.float32)
        ia, ma = self._pack([query] * len(candidates))
        ib, mb = self._pack(candidates)
        return self._session.run(["probability"], {"ids_a": ia, "mask_a": ma,
                                                   "ids_b": ib, "mask_b": mb})[0]

    def score_pairs(self, a: Sequence[Sequence[int]], b: Sequence[Sequence[int]],
                    batch: int = 256) -> np.ndarray:
        """(n,) probabilities of n pairs of token-id lists, in batches."""
        out = []
        for s in range(0, len(a), batch):
            ia, ma = self._pack(a[s:s + batch])
            ib, mb = self._pack(b[s:s + batch])
            out.append(self._session.run(["probability"], {"ids_a": ia, "mask_a": ma,
                                                           "ids_b": ib, "mask_b": mb})[0])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def score(self, query: str, candidates: Sequence[str]) -> np.ndarray:
        return self.score_ids(self.ids(query), [self.ids(c) for c in candidates])
