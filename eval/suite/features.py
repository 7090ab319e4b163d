"""Features of one dataset for the suite: the router's static features per split, MiniLM.

``static``: the shipped featurizer (``router_model.featurizer.build_featurizer``;
``static_tail``: with a prompt-tail view), its SIF
weights counted on the split's training texts only, run over every text of the dataset
(the texts are tokenized once per dataset). ``minilm``: MiniLM sentence embeddings
(``eval.suite.embeddings``, cached). Both are (n, d) float32 in the dataset's row order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from router_model.featurizer import build_featurizer
from router_model.tokenization import encode, load_tokenizer

log = logging.getLogger(__name__)


@dataclass
class FeatureBank:
    """Lazily computed features of one dataset's texts.

    Attributes:
        texts: the n texts, dataset row order.
        dim, sif_a, max_tokens: the static featurizer's settings.
    """

    texts: list[str]
    dim: int = 256
    sif_a: float = 1e-3
    max_tokens: int = 512
    tail_tokens: int = 0
    _ids: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    _minilm: np.ndarray | None = field(default=None, repr=False)

    def _encoded(self, batch: int = 256) -> list[tuple[np.ndarray, np.ndarray]]:
        if not self._ids:
            tok = load_tokenizer(self.max_tokens)
            self._ids = [encode(tok, self.texts[s:s + batch])
                         for s in range(0, len(self.texts), batch)]
        return self._ids

    @torch.inference_mode()
    def static(self, train_idx: np.ndarray, tail_tokens: int | None = None
               ) -> tuple[torch.nn.Module, np.ndarray]:
        """The featurizer fitted on ``train_idx``'s texts and features (n, d) of all
        (``tail_tokens`` None: the bank's setting; 0: the mean view only)."""
        tok = load_tokenizer(self.max_tokens)
        tail = self.tail_tokens if tail_tokens is None else tail_tokens
        module, _ = build_featurizer("static", tok, [self.texts[i] for i in train_idx],
                                     self.dim, self.sif_a, tail)
        return module, self.transform(module)

    @torch.inference_mode()
    def transform(self, featurizer: torch.nn.Module) -> np.ndarray:
        """(n, d) float32: ``featurizer`` (ids, mask) -> features over every text."""
        out = [featurizer(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
               for ids, mask in self._encoded()]
        return np.concatenate(out).astype(np.float32)

    def minilm(self) -> np.ndarray:
        """(n, 384) MiniLM embeddings (cached on disk)."""
        if self._minilm is None:
            from eval.suite.embeddings import minilm_embeddings

            self._minilm = minilm_embeddings(self.texts)
        return self._minilm
