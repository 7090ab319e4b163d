"""``lmroute cache pairs``: store ``a``, look ``b`` up, for every pair of a JSONL file.

Input lines ``{"id", "a", "b"}``: ``a`` and ``b`` are each a prompt string or a list
of chat messages ``{"role", "content"}``. For each pair an answer for ``a`` is stored in
an empty cache (a partition of its own, removed afterwards) and ``b`` is looked up.
Output lines ``{"id", "hit": bool, "tier": "exact"|"semantic"|null, "score": float,
"micros": float}``: ``score`` is the hit decision's score of the best candidate (1.0
for an exact hit; 0.0 when no candidate could be judged), ``micros`` the lookup time of
``b``. A bad line stops the run with its line number (exit 2), before any output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serve.cache.cache import SemanticCache
from serve.cache.entry import StoredAnswer
from serve.cache.keys import CacheKey, Uncacheable, prompt_key

Prompt = str | list[dict[str, Any]]


@dataclass(frozen=True)
class PairIn:
    id: Any
    a: Prompt
    b: Prompt


@dataclass(frozen=True)
class PairOut:
    id: Any
    hit: bool
    tier: str | None
    score: float
    micros: float

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "hit": self.hit, "tier": self.tier,
                           "score": self.score, "micros": round(self.micros, 3)})


def _prompt(value: object, where: str) -> Prompt:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{where}: expected a non-empty string")
        return value
    if isinstance(value, list) and value:
        for i, m in enumerate(value):
            if not (isinstance(m, Mapping) and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), str | list)):
                raise ValueError(f"{where}[{i}]: expected a message {{role, content}}")
        return [dict(m) for m in value]
    raise ValueError(f"{where}: expected a prompt string or a non-empty list of messages")


def read_pairs(path: str | Path) -> list[PairIn]:
    """All pairs of a JSONL file; ValueError names the line and field on bad input."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    out = []
    with p.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{p}:{n}: not JSON ({e.msg})") from None
            if not isinstance(row, dict) or "id" not in row:
                raise ValueError(f"{p}:{n}: expected an object with id, a, b")
            out.append(PairIn(row["id"], _prompt(row.get("a"), f"{p}:{n}: a"),
                              _prompt(row.get("b"), f"{p}:{n}: b")))
    return out


def run_pair(cache: SemanticCache, pair: PairIn, tenant: str, model: str = "",
             casefold: bool = False) -> PairOut:
    """Store an answer for ``a`` under ``tenant``, look ``b`` up, empty the partition."""
    try:
        key_a = prompt_key(pair.a, tenant, model, casefold)
        key_b: CacheKey | None = prompt_key(pair.b, tenant, model, casefold)
    except Uncacheable:
        return PairOut(pair.id, False, None, 0.0, 0.0)
    try:
        cache.put(key_a, StoredAnswer(f"answer for {pair.id}", "stop", model or "pairs"))
        assert key_b is not None
        r = cache.lookup(key_b)
    finally:
        cache.invalidate_tenant(tenant)
    score = r.score if math.isfinite(r.score) else 0.0
    return PairOut(pair.id, r.hit, r.tier, float(score), r.micros)


def run_pairs(cache: SemanticCache, pairs: Sequence[PairIn], casefold: bool = False,
              progress: bool = True) -> Iterator[PairOut]:
    """Each pair in its own partition (tenant ``pairs:<n>``), in order."""
    from tqdm import tqdm

    for n, pair in enumerate(tqdm(pairs, desc="cache pairs", unit="pair",
                                  disable=not progress or len(pairs) < 200)):
        yield run_pair(cache, pair, f"pairs:{n}", casefold=casefold)
