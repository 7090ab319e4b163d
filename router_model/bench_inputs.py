"""Benchmark prompts: real prompts cut (keeping the tail) or extended to N tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

log = logging.getLogger(__name__)
LENGTHS = (16, 32, 64, 128, 256, 512)


def real_prompts(path: str | None = None, limit: int = 2000) -> list[str]:
    """Prompts from a text file (one per line) or, by default, the RouterBench CSVs."""
    if path:
        lines = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
        if not lines:
            raise ValueError(f"--prompts: {path} holds no non-empty line")
        return lines[:limit]
    from data.convert import convert
    from data.locate import find_shared_data

    frame = convert("routerbench", [find_shared_data("routerbench") / "routerbench"]).frame
    return list(dict.fromkeys(frame["query"].astype(str)))[:limit]


def cut_to_tokens(tok: Tokenizer, text: str, n_tokens: int) -> str:
    """Suffix of ``text`` that tokenizes to about ``n_tokens`` (specials included),
    cut at a word start so the re-tokenised tail matches."""
    enc = tok.encode(text, add_special_tokens=False)
    body = n_tokens - 2
    if len(enc.ids) <= body:
        return text
    start = len(enc.ids) - body
    while start < len(enc.ids) and enc.tokens[start].startswith("##"):
        start += 1
    return text[enc.offsets[start][0]:]


def prompts_of_length(tok: Tokenizer, prompts: list[str], n_tokens: int, count: int,
                      seed: int = 0) -> list[str]:
    """``count`` real texts of about ``n_tokens`` tokens: short prompts are joined with
    other real prompts until long enough, then the tail is kept."""
    tok = Tokenizer.from_str(tok.to_str())  # a copy without the router's truncation
    tok.no_truncation()
    tok.no_padding()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        text = prompts[int(rng.integers(len(prompts)))]
        while len(tok.encode(text, add_special_tokens=False).ids) < n_tokens:
            text = prompts[int(rng.integers(len(prompts)))] + "\n\n" + text
        out.append(cut_to_tokens(tok, text, n_tokens))
    return out
