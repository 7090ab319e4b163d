"""``lmroute bench memory``: the memory's speed and size goals, printed as JSON.

- ``edit``: one append (one message, one version, one audit entry) and one rollback on a
  store already holding ``--sessions`` x ``--session-len`` messages: p50 / p95 ms;
- ``erase``: erasing one message with summary recompute (stub summarizer), recompaction,
  WAL checkpoint and the full verification scan (every table, the index, the raw file
  bytes): p50 / p95 ms, with the database size it scanned;
- ``storage``: ``--messages`` messages appended two per version (a request's turn), then
  the database files' bytes and the process's peak RSS, per million messages;
- ``llm`` (``--llm``): SmolLM2-135M-Instruct through the embedded llama.cpp server on
  ``--llm-threads`` threads: prompt and generation tokens/s, seconds per compaction
  (a detailed summary of ten LoCoMo-like turns, a broad merge).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from serve.memory.config import MemoryConfig
from serve.memory.service import MemoryService, build_service
from serve.memory.sqlite_store import SqliteStore
from serve.memory.types import NewMessage
from serve.memory.words import wordset

WORDS = wordset("we went hiking near the lake and my sister painted the sunrise while the kids "
         "played football then we cooked pasta with tomatoes from the garden and talked "
         "about the new job the violin lessons the trip to Lisbon and the book club")


WORD_LIST = sorted(WORDS)


def text(rng: random.Random, n: int = 24) -> str:
    return " ".join(rng.choice(WORD_LIST) for _ in range(n)) + f" #{rng.randrange(10**9)}"


def pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1000.0
    return {"p50_ms": round(float(np.percentile(a, 50)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3),
            "max_ms": round(float(a.max()), 3), "n": len(xs)}


def service(path: Path, summarizer: str = "stub") -> MemoryService:
    cfg = MemoryConfig(db_path=str(path), background=False, ttl_sweep_s=0.0, retrieval="bm25")
    cfg.summarizer.name = summarizer
    return build_service(cfg)


def fill(svc: MemoryService, sessions: int, length: int, rng: random.Random) -> None:
    for s in range(sessions):
        for i in range(0, length, 2):
            svc.store.append("bench", f"s{s}", [
                NewMessage(f"m{i}", "user", text(rng), 1.7e9 + i),
                NewMessage(f"m{i + 1}", "assistant", text(rng), 1.7e9 + i + 1)], "bench")
        svc.compact_now("bench", f"s{s}")


class Timer:
    """Wall and CPU seconds of each timed block (CPU time separates the work from the
    waiting for a core on a shared machine)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.process_time() - self._c)

    def report(self) -> dict[str, Any]:
        return {**pct(self.wall), "cpu": pct(self.cpu)}


def bench_edit(tmp: Path, a: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    svc = service(tmp / "edit.sqlite")
    fill(svc, a.sessions, a.session_len, rng)
    appends, rollbacks = Timer(), Timer()
    for k in range(a.edits):
        sid = f"s{k % a.sessions}"
        with appends:
            svc.store.append("bench", sid, [NewMessage(f"e{k}", "user", text(rng), 1.8e9)],
                             "bench")
        head = svc.store.head_version("bench", sid)
        with rollbacks:
            svc.store.rollback("bench", sid, head - 1, "bench", "undo")
    svc.close()
    return {"append": appends.report(), "rollback": rollbacks.report(),
            "store_messages": a.sessions * a.session_len}


def bench_erase(tmp: Path, a: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    svc = service(tmp / "erase.sqlite")
    fill(svc, a.sessions, a.session_len, rng)
    times, recomputed, clean = Timer(), [], True
    for k in range(a.erasures):
        sid = f"s{k % a.sessions}"
        alive = [m.id for m in svc.state("bench", sid).messages]
        victim = alive[rng.randrange(len(alive) // 4, 3 * len(alive) // 4)]
        with times:
            r = svc.erase("bench", sid, [victim], reason="bench")
        recomputed.append(len(r.recomputed))
        clean = clean and bool(r.verification and r.verification.clean)
    size = sum(p.stat().st_size for p in svc.store.raw_files())
    svc.close()
    return {"erase_with_recompute": times.report(), "summaries_recomputed_mean":
            round(float(np.mean(recomputed)), 2), "all_verified_clean": clean,
            "db_bytes_scanned": size, "store_messages": a.sessions * a.session_len}


def bench_storage(tmp: Path, a: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from tqdm import tqdm

    store = SqliteStore(tmp / "storage.sqlite")
    per_session = 500
    t0 = time.perf_counter()
    content_bytes = 0
    for i in tqdm(range(0, a.messages, 2), desc="storage", unit="turn", mininterval=5,
                  disable=not os.isatty(2)):
        s, j = divmod(i, per_session)
        u, v = text(rng), text(rng)
        content_bytes += len(u) + len(v)
        store.append("bench", f"s{s}", [NewMessage(f"m{j}", "user", u, 1.7e9 + i),
                                        NewMessage(f"m{j + 1}", "assistant", v, 1.7e9 + i)],
                     "bench")
    secs = time.perf_counter() - t0
    store.checkpoint()
    size = sum(p.stat().st_size for p in store.raw_files())
    store.close()
    scale = 1e6 / a.messages
    return {"messages": a.messages, "seconds": round(secs, 1),
            "appends_per_s": round(a.messages / 2 / secs, 1),
            "db_bytes": size, "db_mb_per_million_messages": round(size * scale / 2**20, 1),
            "content_mb_per_million_messages": round(content_bytes * scale / 2**20, 1),
            "overhead_bytes_per_message": round((size - content_bytes) / a.messages, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "measured": "messages, versions (one per two messages), intervals and audit "
                        "entries; summaries not included"}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lmroute bench memory", description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--session-len", type=int, default=300)
    p.add_argument("--edits", type=int, default=300)
    p.add_argument("--erasures", type=int, default=40)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--only", default="edit,erase,storage", help="which parts (and llm)")
    p.add_argument("--llm", action="store_true", help="also measure SmolLM2 (minutes)")
    p.add_argument("--llm-threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rng = random.Random(a.seed)
    parts = [x for x in a.only.split(",") if x] + (["llm"] if a.llm else [])
    out: dict[str, Any] = {"load_avg_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="lmroute-bench-memory-") as d:
        tmp = Path(d)
        for name in parts:
            if name == "llm":
                from serve.memory.bench_llm import bench_llm

                out["llm"] = bench_llm(tmp, a.llm_threads)
            else:
                out[name] = {"edit": bench_edit, "erase": bench_erase,
                             "storage": bench_storage}[name](tmp, a, rng)
    out["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))
    return 0
