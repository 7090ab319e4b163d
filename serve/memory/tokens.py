"""Token counting with a real tokenizer, behind one interface + registry.

``gguf``: the vocabulary of a GGUF model read by llama.cpp (``vocab_only``, no weights),
default SmolLM2-135M-Instruct; ``hf``: a Hugging Face ``tokenizer.json`` (default the
router's MiniLM WordPiece). A chat message costs its content's tokens plus
``per_message`` template tokens (role markers); the assembled context's total is what
the budget bounds.
"""

from __future__ import annotations

import atexit
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from serve.memory.errors import InvalidInput
from serve.memory.types import ChatMessage


class TokenCounter(ABC):
    """``count(text)`` -> tokens of the text alone (no BOS/special tokens)."""

    name: ClassVar[str] = ""
    per_message: int = 4

    @abstractmethod
    def count(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count(m.content) + self.per_message for m in messages)


_REGISTRY: dict[str, Callable[..., TokenCounter]] = {}


def register(name: str) -> Callable[[type[TokenCounter]], type[TokenCounter]]:
    def deco(cls: type[TokenCounter]) -> type[TokenCounter]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def make_counter(kind: str, **kwargs: Any) -> TokenCounter:
    if kind not in _REGISTRY:
        raise InvalidInput(f"tokenizer.kind: expected one of {sorted(_REGISTRY)}, got {kind!r}")
    return _REGISTRY[kind](**kwargs)


_VOCABS: dict[str, Any] = {}  # GGUF path -> a vocab-only Llama, shared by every counter
_VOCAB_LOCK = threading.Lock()


def _close_vocabs() -> None:
    """At exit, before llama_cpp's module globals are gone (its ``__del__`` then fails)."""
    with _VOCAB_LOCK:
        for llm in _VOCABS.values():
            llm.close()
        _VOCABS.clear()


def _vocab(path: str) -> Any:
    with _VOCAB_LOCK:
        if path not in _VOCABS:
            _VOCABS[path] = _load_vocab(path)
            if len(_VOCABS) == 1:
                atexit.register(_close_vocabs)
        return _VOCABS[path]


def _load_vocab(path: str) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise InvalidInput("tokenizer.kind=gguf needs llama-cpp-python (the edge extra); "
                           "or use tokenizer.kind=hf") from exc
    import os

    # llama.cpp prints a context warning on stderr even with verbose=False: silence fd 2
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        return Llama(model_path=path, vocab_only=True, verbose=False)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


@register("gguf")
class GgufCounter(TokenCounter):
    """Tokens of a GGUF model's own tokenizer (``smollm2``, ``gemma3_270m`` or a path)."""

    def __init__(self, gguf: str = "smollm2", per_message: int = 4) -> None:
        from serve.memory.models import resolve_gguf

        self.path = resolve_gguf(gguf)
        self.per_message = per_message
        self._llm = _vocab(str(self.path))
        self._lock = threading.Lock()  # llama.cpp's tokenizer is not documented thread-safe

    def count(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))


@register("hf")
class HfCounter(TokenCounter):
    """Tokens of a ``tokenizer.json`` (``minilm`` = the router's tokenizer)."""

    def __init__(self, path: str = "minilm", per_message: int = 4) -> None:
        from tokenizers import Tokenizer

        if path == "minilm":
            from router_model.tokenization import source_model_dir

            file = source_model_dir() / "tokenizer.json"
        else:
            file = Path(path)
        if not file.is_file():
            raise InvalidInput(f"tokenizer.path: no tokenizer.json at {file}")
        self._tok = Tokenizer.from_file(str(file))
        self._tok.no_padding()
        self._tok.no_truncation()
        self.per_message = per_message

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids) if text else 0
