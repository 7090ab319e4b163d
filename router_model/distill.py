"""Distil a static token-embedding table from all-MiniLM-L6-v2 (model2vec-style).

Every vocabulary token is passed through the sentence-transformer as the one-token
text ``[CLS] tok [SEP]`` and mean-pooled exactly as the sentence-transformer pools,
so row ``v`` of the table is the sentence embedding of token ``v`` alone. PCA then
reduces 384 -> ``dim`` dimensions. The table is cached on disk, keyed by the SHA-256
of the source weights, the dimension and the code version, so it is built once
(about a minute on 2 cores).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from router_model.tokenization import file_sha256, source_model_dir

log = logging.getLogger(__name__)
DISTILL_VERSION = "1"


@dataclass(frozen=True)
class StaticTable:
    """A distilled table.

    Attributes:
        vectors: (V, dim) float32, PCA-reduced token embeddings.
        source_sha256: SHA-256 of the source model weights.
        sha256: SHA-256 of the un-reduced token embeddings (the distillation's identity).
    """

    vectors: np.ndarray
    source_sha256: str
    sha256: str

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def cache_dir() -> Path:
    """``$LMROUTE_CACHE`` or ``~/.cache/lmroute``."""
    return Path(os.environ.get("LMROUTE_CACHE", Path.home() / ".cache" / "lmroute"))


def array_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def load_sentence_model() -> Any:
    """The MiniLM BertModel in eval mode (weights from the on-disk package)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source_model_dir()))
    return model.eval()


@torch.inference_mode()
def token_sentence_embeddings(model: torch.nn.Module, vocab_size: int,
                              cls_id: int = 101, sep_id: int = 102,
                              batch: int = 2048) -> np.ndarray:
    """Sentence embedding of each one-token text. Returns (V, 384) float32."""
    out = []
    for start in tqdm(range(0, vocab_size, batch), desc="distil tokens", unit="batch"):
        ids = torch.arange(start, min(start + batch, vocab_size))
        x = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], 1)
        h = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
        out.append(h.mean(dim=1).float().numpy())
    return np.concatenate(out)


def pca_reduce(x: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """Centre and project (V, D) onto its top ``dim`` principal axes -> (V, dim) float32."""
    from sklearn.decomposition import PCA

    if dim >= x.shape[1]:
        return (x - x.mean(0)).astype(np.float32)
    return PCA(n_components=dim, random_state=seed).fit_transform(x).astype(np.float32)


@functools.lru_cache(maxsize=4)
def distill_table(dim: int = 256, cache: Path | None = None) -> StaticTable:
    """Build (or load from cache) the static table of ``dim`` dimensions (memoised per
    process: the PCA takes seconds and the result never changes)."""
    src = file_sha256(source_model_dir() / "model.safetensors")
    raw = raw_token_embeddings(src, cache or cache_dir())
    return StaticTable(pca_reduce(raw, dim), src, array_sha256(raw))


def raw_token_embeddings(source_sha256: str, cache: Path) -> np.ndarray:
    """(V, 384) one-token sentence embeddings, computed once and cached on disk."""
    key = hashlib.sha256(f"{source_sha256}:{DISTILL_VERSION}".encode()).hexdigest()[:16]
    path = cache / f"minilm_token_embeddings_{key}.npy"
    if path.exists():
        log.info("token embeddings loaded from cache %s", path)
        return np.load(path)
    log.info("embedding every vocabulary token with all-MiniLM-L6-v2 (once, ~1-2 min)")
    model = load_sentence_model()
    raw = token_sentence_embeddings(model, model.config.vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, raw)
    tmp.replace(path)
    return raw
