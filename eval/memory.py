"""What a memory keeps: answer-word recall of the assembled context on LoCoMo.

For each question (category 5, adversarial, excluded) the probe is the share of the
answer's words (lower-cased alphanumeric, minus a few stop words) that occur anywhere in
the context sent with the question, at a token budget counted with the memory's real
tokenizer (chat-template tokens per message included). Methods, side by side:

- ``window``: the most recent messages that fit (the plain sliding window);
- ``bm25``: BM25 over single turns with the question as the query, the best turns that
  fit, in time order (``bm25+dates``: the same with the day of each turn, the rendering
  the memory uses);
- ``full``: the whole history (no budget; its size is reported);
- ``memory:<summarizer>``: ``lmroute memory context`` (summaries + retrieved older
  messages + recent window), built once per summarizer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eval.memory_locomo import Conversation, Question
from serve.memory.assemble import HEADER, AssemblyConfig, Parts, render
from serve.memory.retrieval import BM25, SessionIndex
from serve.memory.tokens import TokenCounter
from serve.memory.types import ChatMessage, Message, SessionState
from serve.memory.words import wordset

_WORD = re.compile(r"[a-z0-9]+")
PROBE_STOP = wordset("""
a an the of to in on and or is are was were be for with at by from it its as that this
""")
CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def answer_words(answer: str) -> list[str]:
    return [w for w in _WORD.findall(str(answer).lower()) if w not in PROBE_STOP]


def recall(answer: str, context: str) -> float | None:
    """Share of the answer's words present in the context (None: no scorable words)."""
    words = answer_words(answer)
    if not words:
        return None
    present = set(_WORD.findall(context.lower()))
    return sum(w in present for w in words) / len(words)


def text_of(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(m.content for m in messages)


@dataclass
class Scores:
    """Recall per (method, budget, category); ``add`` one question at a time."""

    values: dict[str, dict[int, dict[int, list[float]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    tokens: dict[str, dict[int, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))

    def add(self, method: str, budget: int, q: Question, msgs: Sequence[ChatMessage],
            tokens: int) -> None:
        r = recall(q.answer, text_of(msgs))
        if r is not None:
            self.values[method][budget][q.category].append(r)
            self.tokens[method][budget].append(tokens)

    def table(self) -> dict[str, Any]:
        """{method: {budget: {"all", "n", "mean_tokens", "by_category": {name: recall}}}}"""
        out: dict[str, Any] = {}
        for method, per_budget in self.values.items():
            out[method] = {}
            for budget, per_cat in sorted(per_budget.items()):
                allv = [v for c in CATEGORIES for v in per_cat.get(c, [])]
                out[method][str(budget)] = {
                    "all": round(float(np.mean(allv)), 4) if allv else None, "n": len(allv),
                    "mean_tokens": round(float(np.mean(self.tokens[method][budget])), 1),
                    "by_category": {CATEGORY_NAMES[c]: round(float(np.mean(per_cat[c])), 4)
                                    for c in CATEGORIES if per_cat.get(c)}}
        return out


class Baselines:
    """The simple baselines over one conversation's messages (same tokenizer, same
    rendering of retrieved turns as the memory)."""

    def __init__(self, session_id: str, messages: list[Message], counter: TokenCounter,
                 dates: bool) -> None:
        self.messages = messages
        self.counter = counter
        self.state = SessionState(session_id, 0, messages, [])
        self.index = SessionIndex(0)
        self.index.add(messages, counter)
        self.cfg_plain = AssemblyConfig(dates=False, role_labels=False)
        self.cfg_dates = AssemblyConfig(dates=dates, role_labels=False)
        self.bm25 = BM25()

    def full(self) -> tuple[list[ChatMessage], int]:
        msgs = [ChatMessage(m.role, m.content) for m in self.messages]
        return msgs, self.counter.count_messages(msgs)

    def window(self, budget: int) -> tuple[list[ChatMessage], int]:
        out: list[ChatMessage] = []
        used = 0
        for i in range(len(self.messages) - 1, -1, -1):
            c = self.index.tokens[i] + self.counter.per_message
            if used + c > budget:
                break
            out.insert(0, ChatMessage(self.messages[i].role, self.messages[i].content))
            used += c
        return out, used

    def retrieve(self, query: str, budget: int, dates: bool) -> tuple[list[ChatMessage], int]:
        """The best BM25 turns that fit, rendered in one block in time order."""
        cfg = self.cfg_dates if dates else self.cfg_plain
        scores = self.bm25.scores(self.index, query)
        parts = Parts()
        used = self.counter.per_message + self.counter.count(HEADER) + 4
        for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
            c = self.index.tokens[i] + 1 + (3 if dates else 0)
            if scores[i] > 0 and used + c <= budget:
                parts.retrieved.append(i)
                used += c
        while True:
            msgs = render(self.state, parts, cfg)
            total = self.counter.count_messages(msgs)
            if total <= budget or not parts.retrieved:
                return msgs, total
            parts.retrieved.pop()


def baseline_scores(conv: Conversation, counter: TokenCounter, budgets: Sequence[int],
                    scores: Scores) -> int:
    """Add the baselines' recall for one conversation; returns its full-history tokens."""
    msgs = [Message(r.message.id, r.message.role, r.message.content, r.message.ts, i)
            for i, r in enumerate(conv.rows)]
    b = Baselines(conv.sample_id, msgs, counter, dates=True)
    full, full_tokens = b.full()
    for q in conv.questions:
        if q.category not in CATEGORIES:
            continue
        scores.add("full", 0, q, full, full_tokens)
        for budget in budgets:
            scores.add("window", budget, q, *b.window(budget))
            scores.add("bm25", budget, q, *b.retrieve(q.text, budget, dates=False))
            scores.add("bm25+dates", budget, q, *b.retrieve(q.text, budget, dates=True))
    return full_tokens
