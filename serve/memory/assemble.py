"""Context assembly: what memory sends with a query, within a token budget.

    system: <header> / Summary: broad, detailed... / Earlier messages: [day] ... (by rank,
            shown in time order) / Recent messages follow (from <day>).
    the recent window, verbatim, as the original role messages

The window takes up to ``window_share`` of the budget (at least ``min_window`` messages
when they fit), the summaries up to ``summary_share`` (broad first, then the newest
detailed ones, each clipped to whole lines that fit); older messages ranked by the
scorer against the query fill the rest.
Token costs come from the real tokenizer; the final messages are counted again as a
whole and the lowest-ranked retrieved lines dropped until the total fits, so the budget
is a hard bound (``ContextResult.tokens <= budget``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from serve.memory.retrieval import Scorer, SessionIndex
from serve.memory.summarizers.base import day
from serve.memory.tokens import TokenCounter
from serve.memory.types import ChatMessage, ContextResult, Message, SessionState, Summary

HEADER = "Memory of this conversation (summaries and earlier messages):"


@dataclass(frozen=True)
class AssemblyConfig:
    window_share: float = 0.2
    summary_share: float = 0.15
    min_window: int = 2
    dates: bool = True
    role_labels: bool = True  # "user: ..." before retrieved lines (off when contents name speakers)


@dataclass
class Parts:
    window: list[Message] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    retrieved: list[int] = field(default_factory=list)  # index positions, in rank order


def _line(m: Message, cfg: AssemblyConfig) -> str:
    return f"{m.role}: {m.content}" if cfg.role_labels else m.content


def _block(state: SessionState, parts: Parts, cfg: AssemblyConfig) -> str:
    lines = [HEADER]
    if parts.summaries:
        lines.append("Summary:")
        lines += [s.content for s in parts.summaries]
    if parts.retrieved:
        lines.append("Earlier messages:")
        last = None
        for i in sorted(parts.retrieved):
            m = state.messages[i]
            d = day(m.ts) if cfg.dates else ""
            if d and d != last:
                lines.append(f"[{d}]")
                last = d
            lines.append(_line(m, cfg))
    if parts.window and cfg.dates:
        lines.append(f"Recent messages follow (from {day(parts.window[0].ts)}).")
    return "\n".join(lines)


def render(state: SessionState, parts: Parts, cfg: AssemblyConfig) -> list[ChatMessage]:
    out = []
    if parts.summaries or parts.retrieved:
        out.append(ChatMessage("system", _block(state, parts, cfg)))
    return out + [ChatMessage(m.role, m.content) for m in parts.window]


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def clip(text: str, max_tokens: int, counter: TokenCounter) -> str:
    """The longest prefix of whole lines (one line: whole sentences) within
    ``max_tokens``; "" when not even the first fits."""
    if max_tokens <= 0:
        return ""
    if counter.count(text) <= max_tokens:
        return text
    lines = text.split("\n")
    sep = "\n"
    if len(lines) == 1:
        lines, sep = _SENTENCE.split(text), " "
    kept: list[str] = []
    for line in lines:
        if counter.count(sep.join([*kept, line])) > max_tokens:
            break
        kept.append(line)
    return sep.join(kept)


def _window(state: SessionState, index: SessionIndex, budget: int, counter: TokenCounter,
            cfg: AssemblyConfig) -> tuple[list[Message], int]:
    pos = {ident: i for i, ident in enumerate(index.ids)}
    win: list[Message] = []
    used, cap = 0, cfg.window_share * budget
    for m in reversed(state.messages):
        c = index.tokens[pos[m.id]] + counter.per_message
        if used + c > budget or (len(win) >= cfg.min_window and used + c > cap):
            break
        win.insert(0, m)
        used += c
    return win, used


def assemble(state: SessionState, query: str, budget: int, counter: TokenCounter,
             index: SessionIndex, scorer: Scorer, cfg: AssemblyConfig) -> ContextResult:
    """The context for ``query`` (see the module docstring); ``index`` = the session's
    retrieval index at ``state``'s version."""
    parts = Parts()
    parts.window, used = _window(state, index, budget, counter, cfg)
    used += counter.per_message + counter.count(HEADER) + 12  # block, section lines
    cap = cfg.summary_share * budget
    spent = 0
    ordered = [s for s in state.summaries if s.level == 2] + \
        sorted((s for s in state.summaries if s.level != 2), key=lambda s: -s.last_seq)
    for s in ordered:
        room = min(cap - spent, budget - used - spent)
        text = clip(s.content, int(room) - 1, counter)
        if text:
            parts.summaries.append(replace(s, content=text))
            spent += counter.count(text) + 1
    parts.summaries.sort(key=lambda s: (-s.level, s.first_seq))
    used += spent
    in_window = {m.id for m in parts.window}
    scores = scorer.scores(index, query) if query.strip() else None
    if scores is not None:
        labels = 0 if not cfg.role_labels else 2
        for i in sorted(range(len(index.ids)), key=lambda i: (-scores[i], i)):
            if index.ids[i] in in_window or scores[i] <= 0:
                continue
            c = index.tokens[i] + 1 + labels + (3 if cfg.dates else 0)
            if used + c <= budget:
                parts.retrieved.append(i)
                used += c
    return _fit(state, parts, budget, counter, cfg)


def _fit(state: SessionState, parts: Parts, budget: int, counter: TokenCounter,
         cfg: AssemblyConfig) -> ContextResult:
    """Count the rendered messages exactly; drop retrieved lines (lowest rank first), then
    summaries, then the oldest window messages until they fit."""
    while True:
        msgs = render(state, parts, cfg)
        total = counter.count_messages(msgs)
        if total <= budget or not (parts.retrieved or parts.summaries or parts.window):
            break
        if parts.retrieved:
            parts.retrieved.pop()
        elif parts.summaries:
            parts.summaries.pop()
        else:
            parts.window.pop(0)
    return ContextResult(msgs, total, budget, state.version,
                         summary_ids=[s.id for s in parts.summaries],
                         retrieved_ids=[state.messages[i].id for i in sorted(parts.retrieved)],
                         window_ids=[m.id for m in parts.window])
