"""Tool calls: per-key allow-lists and checks of the arguments an agent is about to run.

A ``ToolPolicy`` says which tools a key may call: ``None`` = any, an empty set = none
(a planner), or the named tools only (an executor). ``check_tool_call`` refuses a tool
outside the list (category ``tool``, verdict ``block``) before anything else, and
otherwise runs the guard over the call's string arguments (JSON text is parsed; every
string value, at any depth, is checked as ``name: value`` lines), so an injection,
harmful request, PII or a secret inside the arguments is caught like one in a prompt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from router_model.guard.decision import GuardDecision
from router_model.guard.policy import GuardPolicy
from router_model.guard.runtime import Guard


@dataclass(frozen=True)
class ToolPolicy:
    """Which tools a key may call (``allowed=None``: any)."""

    allowed: frozenset[str] | None = None

    @classmethod
    def of(cls, names: Iterable[str] | None) -> ToolPolicy:
        return cls(None if names is None else frozenset(names))

    def allows(self, name: str) -> bool:
        return self.allowed is None or name in self.allowed


def _strings(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, str):
        yield f"{key}: {value}" if key else value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)


def arguments_text(arguments: str | Mapping[str, Any] | None) -> str:
    """The string content of a call's arguments (OpenAI sends them as JSON text)."""
    if arguments is None:
        return ""
    value: Any = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return "\n".join(_strings(value))


def refused(name: str, micros: float) -> GuardDecision:
    return GuardDecision("block", {"tool": 1.0}, ["tool"], [], "", micros,
                         f"tool:block (tool {name!r} is not on this key's allow-list)",
                         {"tool": "block"})


def check_tool_call(guard: Guard, name: str, arguments: str | Mapping[str, Any] | None,
                    tools: ToolPolicy = ToolPolicy(), policy: GuardPolicy | None = None
                    ) -> GuardDecision:
    """Verdict on one tool call (allow-list first, then the arguments' content by rules
    and secrets: arguments are a model's output, and the learned classifier, trained on
    requests, blocked 86% of real MBPP code answers sent as a tool's ``{"code": ...}``;
    ``scripts.guard_output_probe``, docs/guard.md "Answers are not requests")."""
    t0 = time.perf_counter_ns()
    if not tools.allows(name):
        return refused(name, (time.perf_counter_ns() - t0) / 1e3)
    text = arguments_text(arguments)
    if not text.strip():
        return GuardDecision("allow", {"tool": 0.0}, [], [], text,
                             (time.perf_counter_ns() - t0) / 1e3, "clean")
    d = guard.check(text, policy, learned=False)
    d.micros = (time.perf_counter_ns() - t0) / 1e3
    d.scores["tool"] = 0.0
    return d
