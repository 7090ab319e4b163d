"""``lmroute memory eval --data PATH``: answer-word recall of the memory on LoCoMo at
several budgets, per category, side by side with the sliding window, BM25 over single
turns and the full history, for each summarizer; plots, compression ratio and
compaction cost. Writes ``OUT/metrics.json`` and ``OUT/*.png``; prints the metrics."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.memory import CATEGORIES, Scores, baseline_scores
from eval.memory_locomo import Conversation, load
from serve.memory.build import OWNER, replay
from serve.memory.config import MemoryConfig
from serve.memory.errors import MemoryError_
from serve.memory.retrieval import IndexCache, make_scorer
from serve.memory.service import MemoryService, build_service
from serve.memory.tokens import TokenCounter


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lmroute memory eval", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="LoCoMo-format JSON (locomo_dev.json)")
    p.add_argument("--out", default="runs/memory_eval")
    p.add_argument("--budgets", default="512,1024,2048")
    p.add_argument("--summarizers", default="stub,extractive,llm")
    p.add_argument("--retrieval", default="hybrid", help="the memory's retrieval")
    p.add_argument("--ablate-retrieval", default="bm25,static,hybrid",
                   help="retrievals compared with the extractive summarizer ('' = none)")
    p.add_argument("--ablate-summary-share", default="0,0.3",
                   help="summary shares compared with the extractive summarizer ('' = none)")
    p.add_argument("--llm-conversations", type=int, default=0,
                   help="build the llm memory on the first N conversations only (0 = all)")
    p.add_argument("--llm-max-turns", type=int, default=0,
                   help="and on their first N turns only, with the questions whose evidence "
                        "lies in them (0 = all turns)")
    p.add_argument("--tokenizer", default="gguf", choices=["gguf", "hf"])
    return p.parse_args(argv)


def memory_config(db: Path, summarizer: str, retrieval: str, tokenizer: str) -> MemoryConfig:
    cfg = MemoryConfig(db_path=str(db), background=False, ttl_sweep_s=0.0, retrieval=retrieval)
    cfg.summarizer.name = summarizer
    cfg.tokenizer.kind = tokenizer
    cfg.assembly.role_labels = False  # LoCoMo contents start with the speaker's name
    return cfg


def memory_scores(svc: MemoryService, convs: list[Conversation], budgets: list[int],
                  scores: Scores, method: str) -> None:
    qs = [(c, q) for c in convs for q in c.questions if q.category in CATEGORIES]
    for c, q in tqdm(qs, desc=method, unit="q", disable=not sys.stderr.isatty()):
        for b in budgets:
            res = svc.context(OWNER, c.sample_id, q.text, b)
            scores.add(method, b, q, res.messages, res.tokens)


def ablate(svc: MemoryService, convs: list[Conversation], a: argparse.Namespace,
           budgets: list[int], scores: Scores, name: str) -> None:
    """The same memory with another retrieval, or another share of the budget for the
    summaries (the rest goes to retrieval)."""
    default_scorer, default_asm = svc.indexes, svc.assembly
    for r in [x for x in a.ablate_retrieval.split(",") if x]:
        svc.indexes = IndexCache(make_scorer(r), svc.counter)
        memory_scores(svc, convs, budgets, scores, f"memory:{name}[{r}]")
    svc.indexes = default_scorer
    for share in [float(x) for x in a.ablate_summary_share.split(",") if x]:
        svc.assembly = dataclasses.replace(default_asm, summary_share=share)
        memory_scores(svc, convs, budgets, scores, f"memory:{name}[summary_share={share:g}]")
    svc.assembly = default_asm


def run_summarizer(name: str, convs: list[Conversation], a: argparse.Namespace,
                   budgets: list[int], scores: Scores) -> dict[str, Any]:
    """Build the memory with one summarizer and score it (and the retrieval ablation)."""
    db_dir = Path(a.out) / "stores" / name
    shutil.rmtree(db_dir, ignore_errors=True)
    svc = build_service(memory_config(db_dir / "memory.sqlite", name, a.retrieval, a.tokenizer))
    try:
        report = replay(svc, [r for c in convs for r in c.rows],
                        progress=sys.stderr.isatty())
        memory_scores(svc, convs, budgets, scores, f"memory:{name}")
        if name == "extractive":
            ablate(svc, convs, a, budgets, scores, name)
        out: dict[str, Any] = {"conversations": len(convs), **dataclasses.asdict(report)}
        stats = getattr(getattr(svc.summarizer, "_client", None), "stats", None)
        if stats is not None and stats.calls:
            out["llm_calls"] = {"calls": stats.calls, "prompt_tokens": stats.prompt_tokens,
                                "completion_tokens": stats.completion_tokens,
                                "seconds": round(stats.seconds, 2),
                                "completion_tokens_per_s": round(
                                    stats.completion_tokens / stats.seconds, 2)}
        return out
    finally:
        svc.close()


def llm_subset(convs: list[Conversation], a: argparse.Namespace) -> list[Conversation]:
    """The conversations (and turns) the slow LLM summarizer is measured on."""
    part = convs[:a.llm_conversations] if a.llm_conversations else convs
    if not a.llm_max_turns:
        return part
    out = []
    for c in part:
        rows = c.rows[:a.llm_max_turns]
        kept = {r.message.id for r in rows}
        qs = [q for q in c.questions if q.evidence and set(q.evidence) <= kept]
        out.append(Conversation(c.sample_id, rows, qs))
    return out


def evaluate(a: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    convs = load(Path(a.data))
    budgets = [int(b) for b in a.budgets.split(",")]
    from serve.memory.tokens import make_counter

    counter: TokenCounter = make_counter(a.tokenizer)
    scores, full_tokens = Scores(), {}
    for c in convs:
        full_tokens[c.sample_id] = baseline_scores(c, counter, budgets, scores)
    builds: dict[str, Any] = {}
    subset = Scores()
    for name in [s for s in a.summarizers.split(",") if s]:
        part = llm_subset(convs, a) if name == "llm" else convs
        builds[name] = run_summarizer(name, part, a, budgets, scores)
        if len(part) < len(convs):  # the baselines on the same questions, to compare
            for c in part:
                baseline_scores(c, counter, budgets, subset)
    metrics = {"data": str(a.data), "budgets": budgets, "tokenizer": a.tokenizer,
               "retrieval": a.retrieval, "recall": scores.table(),
               "full_history_tokens": full_tokens, "build": builds,
               "seconds": round(time.perf_counter() - t0, 1)}
    if subset.values:
        metrics["recall_llm_subset_baselines"] = subset.table()
    return metrics


def main(argv: list[str]) -> int:
    a = parse(argv)
    try:
        metrics = evaluate(a)
    except MemoryError_ as exc:
        print(f"lmroute memory eval: {exc}", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from eval.memory_plots import plot_all

    metrics["plots"] = plot_all(metrics, out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))
    return 0
