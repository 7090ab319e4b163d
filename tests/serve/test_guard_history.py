"""The guard stage's input check without a server: an assistant message in the history
(an earlier answer) is checked by rules and secrets only, every other message by the
full check, and PII in any of them is still redacted."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from router_model.guard.decision import GuardDecision
from router_model.guard.policy import PRESETS
from router_model.guard.tools import ToolPolicy
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
