"""The featurizer group's objects (``conf/featurizer/*.yaml`` names one by ``_target_``).

A spec holds the featurizer's hyper-parameters and builds the torch module that turns
token ids into features; ``train.pipeline`` calls ``build`` and reads ``max_tokens`` and
``batch_size`` from it. Adding a featurizer means a subclass here and a YAML file in the
group, nothing else."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import nn


@dataclass
class FeaturizerSpec(ABC):
    """Hyper-parameters shared by the group's schema (``train.config.FeaturizerConf``).

    Attributes:
        dim: feature width of a distilled table (static only).
        max_tokens: token budget per prompt (the tokenizer truncates to it).
        sif_a: SIF weighting constant; 0 = unweighted mean (static only).
        batch_size: prompts per forward pass when featurizing a log.
    """

    kind: ClassVar[str]
    dim: int = 256
    max_tokens: int = 512
    sif_a: float = 1e-3
    batch_size: int = 512

    @abstractmethod
    def build(self, tok: Tokenizer, corpus: list[str]) -> tuple[nn.Module, dict[str, object]]:
        """The module (ids (n, T) int64, mask (n, T) int64 -> (n, out_dim) float32) and its
        manifest entry. ``corpus``: the training prompts (token statistics)."""


@dataclass
class StaticSpec(FeaturizerSpec):
    """A token table distilled from all-MiniLM-L6-v2, SIF-weighted mean + scalars."""

    kind: ClassVar[str] = "static"

    def build(self, tok: Tokenizer, corpus: list[str]) -> tuple[nn.Module, dict[str, object]]:
        from router_model.featurizer import build_featurizer

        return build_featurizer("static", tok, corpus, self.dim, self.sif_a)


@dataclass
class TransformerSpec(FeaturizerSpec):
    """all-MiniLM-L6-v2 itself, mean pooled (~100x slower; for comparison)."""

    kind: ClassVar[str] = "transformer"
    batch_size: int = 32

    def build(self, tok: Tokenizer, corpus: list[str]) -> tuple[nn.Module, dict[str, object]]:
        from router_model.featurizer import build_featurizer

        return build_featurizer("transformer", tok, corpus)
