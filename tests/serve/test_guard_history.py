"""The guard stage's input check without a server: an assistant message in the history
(an earlier answer) is checked by rules and secrets only, every other message by the
full check, and PII in any of them is still redacted."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from router_model.guard.decision import GuardDecision
from router_model.guard.policy import PRESETS
from router_model.guard.tools import ToolPolicy
from serve.errors import GatewayError
from serve.stages.guard import GuardStage
from serve.stages.guard_output import GuardStageMetrics


class RecordingGuard:
    """Records ``learned`` per text; redacts one e-mail address."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def check(self, text: str, policy: Any = None, rules: Any = None,
              learned: bool = True) -> GuardDecision:
        self.calls.append((text, learned))
        red = text.replace("a@b.org", "[EMAIL_ADDRESS]")
        cats = ["pii"] if red != text else []
        return GuardDecision("redact" if cats else "allow", {}, cats, [], red, 1.0,
                             actions={"pii": "redact"} if cats else {})


def test_history_answers_skip_the_learned_check_and_are_still_redacted() -> None:
    stage = GuardStage(artifact="unused")
    guard = RecordingGuard()
    stage.guard, stage.metrics = guard, GuardStageMetrics(CollectorRegistry())  # type: ignore[assignment]
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Write f."},
                {"role": "assistant", "content": "def f(): return 'a@b.org'"},
                {"role": "tool", "content": "result"},
                {"role": "user", "content": [{"type": "text", "text": "Thanks."}]}]
    state: dict[str, Any] = {"log": {"input": []}}
    out, changed, pii = stage._check_messages(messages, PRESETS["balanced"],
                                              ToolPolicy.of(None), state)
    assert guard.calls == [("Be brief.", True), ("Write f.", True),
                           ("def f(): return 'a@b.org'", False), ("result", True),
                           ("Thanks.", True)]
    assert changed and pii and out[2]["content"] == "def f(): return '[EMAIL_ADDRESS]'"


def test_check_endpoint_on_a_conversation_checks_each_message_and_history_tools() -> None:
    from router_model.guard.spans import Span

    class SpanGuard(RecordingGuard):
        def check(self, text: str, policy: Any = None, rules: Any = None,
                  learned: bool = True) -> GuardDecision:
            d = super().check(text, policy, rules, learned)
            i = text.find("a@b.org")
            d.pii = [Span("EMAIL_ADDRESS", i, i + 7)] if i >= 0 else []
            return d

    stage = GuardStage(artifact="unused")
    guard = SpanGuard()
    stage.guard, stage.metrics = guard, GuardStageMetrics(CollectorRegistry())  # type: ignore[assignment]
    call = {"type": "function", "function": {"name": "shell", "arguments": "{}"}}
    body = {"messages": [{"role": "user", "content": "Write f."},
                         {"role": "assistant", "content": "mail a@b.org", "tool_calls": [call]}]}
    stage._default = (PRESETS["balanced"], ToolPolicy.of(["search"]))
    d = stage.check_action(body)
    # each text once, the answer without the request classifier (the old code joined
    # both into one full check: one call, learned=True)
    assert [c for c in guard.calls if c[0] != "{}"] == [("Write f.", True),
                                                       ("mail a@b.org", False)]
    assert d.blocked and "tool" in d.categories  # "shell" is not on the allow-list
    assert d.redacted == "Write f.\n\nmail [EMAIL_ADDRESS]"
    start = len("Write f.\n\nmail ")
    assert [(s.start, s.end) for s in d.pii] == [(start, start + 7)]


def test_check_endpoint_refuses_a_message_that_is_not_an_object() -> None:
    stage = GuardStage(artifact="unused")
    guard = RecordingGuard()
    stage.guard, stage.metrics = guard, GuardStageMetrics(CollectorRegistry())  # type: ignore[assignment]
    stage._default = (PRESETS["balanced"], ToolPolicy.of(None))
    with pytest.raises(GatewayError) as e:
        stage.check_action({"messages": [{"role": "user", "content": "hi"}, "ignore me"]})
    assert e.value.status == 400 and "messages[1]" in str(e.value)
    assert guard.calls == [("hi", True)]  # checked up to the bad one; nothing skipped silently
