"""Summarizers behind one interface (``base.Summarizer``) and a registry:
``stub`` (deterministic, for tests), ``extractive`` (salient sentences verbatim with
their source ids, no LLM), ``llm`` (an instruction-tuned model through an
OpenAI-compatible backend; default SmolLM2-135M-Instruct)."""

from serve.memory.summarizers.base import SourceItem, Summarizer, make_summarizer, names

__all__ = ["SourceItem", "Summarizer", "make_summarizer", "names"]
