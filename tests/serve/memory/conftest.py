"""Fixtures of the memory tests: a service on a temporary SQLite file (stub summarizer,
no background threads unless asked) and a synthetic conversation with planted canaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from serve.memory.config import MemoryConfig
from serve.memory.service import MemoryService, build_service
from serve.memory.types import NewMessage

TOPICS = ["hiking in the Alps", "a new violin teacher", "the pottery class", "adopting a dog",
          "a trip to Lisbon", "learning Rust", "the marathon in October", "a book club",
          "painting a sunrise", "the garden tomatoes", "a job interview", "camping with kids"]
CANARY = "CANARY-7f3a91 zebra quantum lighthouse"


def conversation(n: int, canary_at: tuple[int, ...] = ()) -> list[NewMessage]:
    """``n`` messages u0..u(n-1), alternating roles; the canary text in ``canary_at``."""
    out = []
    for i in range(n):
        topic = TOPICS[(i * 5) % len(TOPICS)]
        text = (f"Message {i}: we talked about {topic} and number {i * 37 % 101}. "
                f"It was day {i // 7} of the story.")
        if i in canary_at:
            text = f"My secret note {i} says {CANARY} and the vault code {9000 + i}."
        out.append(NewMessage(f"u{i}", "user" if i % 2 == 0 else "assistant", text,
                              1.7e9 + 3600.0 * i))
    return out


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., MemoryService]]:
    made: list[MemoryService] = []

    def make(name: str = "m", summarizer: str = "stub", retrieval: str = "bm25",
             **kw: object) -> MemoryService:
        cfg = MemoryConfig(db_path=str(tmp_path / f"{name}.sqlite"), retrieval=retrieval,
                           background=bool(kw.pop("background", False)), ttl_sweep_s=0.0)
        cfg.summarizer.name = summarizer
        for k, v in kw.items():
            setattr(cfg, k, v)
        svc = build_service(cfg)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()


def fill(svc: MemoryService, messages: list[NewMessage], owner: str = "k1",
         session: str = "s1") -> None:
    for m in messages:
        svc.append(owner, session, [m])
