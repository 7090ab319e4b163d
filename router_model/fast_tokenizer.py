"""Exact fast path for the router's BERT WordPiece tokenizer.

BertNormalizer works per character (clean_text drops control chars and maps whitespace
to a space, CJK chars are spaced, accents stripped after NFD, lowercase) and
BertPreTokenizer splits on whitespace first, so the ids of a text are the concatenation
of the ids of its whitespace-free chunks. The text is cut with ``str.split()`` and each
chunk maps through a bounded LRU cache ``chunk -> WordPiece ids``. A miss on a
printable-ASCII chunk lowercases it, splits it into pre-tokens with one regex (alnum
runs, single punctuation chars) and asks the HF tokenizer's own WordPiece model (so
``[UNK]`` for words over ``max_input_chars_per_word`` and unknown pieces are HF's); any
other chunk goes through the whole HF pipeline on its own (accents, CJK, emoji). The tail
of the ids is kept and [CLS]/[SEP] wrapped around it, as HF's left truncation does.

``str.split()`` cuts on a few characters BERT does not split on (``\\x0b``, ``\\x0c``,
``\\x1c``-``\\x1f``, ``\\x85``: control chars clean_text deletes, so "a\\x0bb" is one
word); text holding one of them, or an added token such as ``[SEP]``, and a tokenizer
whose configuration differs from all-MiniLM-L6-v2's, return ``None`` and the caller
falls back to HF ``tokenizers`` for the whole text.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from tokenizers import Tokenizer

CACHE_WORDS = 1 << 16  # LRU bound on cached chunks
CACHED_CHARS = 64  # longer chunks are encoded uncached (bounds the cache at ~10 MB)
TAIL_CHARS_PER_TOKEN = 6  # pre-cut budget, as in tokenization._tail_start
_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9 \t\n\r]")
_PLAIN = re.compile(r"[\x21-\x7e]*")  # a whitespace-free chunk of printable ASCII
# whitespace to str.split() but a deleted control char to BertNormalizer (see docstring)
_SPLIT_MISMATCH = re.compile("[\x0b\x0c\x1c-\x1f\x85]")


def _config_ok(cfg: dict[str, Any]) -> bool:
    """True iff the tokenizer is configured exactly as the fast path assumes."""
    norm, model, post = cfg.get("normalizer") or {}, cfg.get("model") or {}, \
        cfg.get("post_processor") or {}
    single = [next(iter(s.items())) for s in post.get("single", [])]
    return (norm.get("type") == "BertNormalizer" and norm.get("lowercase") is True
            and norm.get("clean_text") is True
            and (cfg.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and model.get("type") == "WordPiece"
            and post.get("type") == "TemplateProcessing"
            and [k for k, _ in single] == ["SpecialToken", "Sequence", "SpecialToken"]
            and [v["id"] for _, v in single] == ["[CLS]", "A", "[SEP]"])


class FastEncoder:
    """Word-cached exact encoder for one HF ``Tokenizer`` (single sequence, no pair)."""

    def __init__(self, tok: Tokenizer) -> None:
        cfg = json.loads(tok.to_str())
        self.added = tuple(a["content"] for a in cfg.get("added_tokens", []))
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        self.enabled = _config_ok(cfg) and cls_id is not None and sep_id is not None
        self.cls_id, self.sep_id = cls_id or 0, sep_id or 0
        self._model = tok.model
        self._whole = Tokenizer.from_str(tok.to_str())  # the HF pipeline, no trunc / pad
        self._whole.no_truncation()
        self._whole.no_padding()
        self.piece_ids = lru_cache(maxsize=CACHE_WORDS)(self._chunk_ids)

    def _chunk_ids(self, chunk: str) -> tuple[int, ...]:
        """WordPiece ids of one whitespace-free chunk: for printable ASCII its lowercased
        BERT pre-tokens (alphanumeric runs, single punctuation chars) through HF's own
        WordPiece model; otherwise HF's whole pipeline on the chunk alone."""
        if _PLAIN.fullmatch(chunk):
            return tuple(t.id for w in _WORDS.findall(chunk.lower())
                         for t in self._model.tokenize(w))
        return tuple(self._whole.encode(chunk, add_special_tokens=False).ids)

    def safe(self, text: str) -> bool:
        """Whether the fast path is exact for this text."""
        if not self.enabled or _SPLIT_MISMATCH.search(text):
            return False
        return not any(a in text for a in self.added)

    def _body(self, text: str) -> list[int]:
        """WordPiece ids of the whole text, no specials."""
        piece = self.piece_ids
        out: list[int] = []
        for chunk in text.split():  # safe text: str.split() cuts where BERT does
            out.extend(piece(chunk) if len(chunk) <= CACHED_CHARS else self._chunk_ids(chunk))
        return out

    def encode_ids(self, text: str, max_tokens: int | None) -> list[int] | None:
        """Ids with [CLS]/[SEP], tail kept to ``max_tokens``; None if not provably exact."""
        if not self.safe(text):
            return None
        keep = None if max_tokens is None else max_tokens - 2
        if keep is not None and keep < 1:
            return None
        if keep is not None and len(text) > keep * TAIL_CHARS_PER_TOKEN:
            cut = len(text) - keep * TAIL_CHARS_PER_TOKEN
            while cut < len(text) and not text[cut].isspace():
                cut += 1
            body = self._body(text[cut:])  # a whitespace cut: its words are a suffix
            if len(body) < keep:
                body = self._body(text)
        else:
            body = self._body(text)
        if keep is not None and len(body) > keep:
            body = body[len(body) - keep:]
        return [self.cls_id, *body, self.sep_id]
