"""Converters from public benchmark formats (and canonical JSONL/CSV/Parquet logs)
into the canonical long table of ``data.schema``. One module per format."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data.convert.common import ConvertResult
from data.profiles import Profiles

FORMATS: tuple[str, ...] = ("routerbench", "routellm", "llmrouter", "jsonl", "csv", "parquet",
                             "gateway")


def convert(
    fmt: str, inputs: Sequence[str | Path], profiles: Profiles | None = None, **options: Any
) -> ConvertResult:
    """Convert ``inputs`` (files or directories) of format ``fmt``.

    Args:
        fmt: one of ``FORMATS``.
        inputs: files; a directory expands to its files.
        profiles: serving profiles (benchmark formats need them for latency/energy/price).
        options: format-specific keyword options (see each module's ``convert``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    module = importlib.import_module(f"data.convert.{fmt}")
    return module.convert([Path(p) for p in inputs], profiles=profiles, **options)


__all__ = ["FORMATS", "ConvertResult", "convert"]
