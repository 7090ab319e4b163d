"""The guard stage's answer filter without a server: a non-streamed answer gets exactly
what the same answer streamed gets (the stream filter), and the learned classifier,
trained on requests, is never run on an answer."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from router_model.guard.policy import PRESETS
from router_model.guard.stream import filter_text
from router_model.guard.tools import ToolPolicy
from serve.filters import Chunk, StopOutput
from serve.stages.guard_output import GuardOutput, GuardStageMetrics

ANSWER = "def f():\n    return 3.5355339059327378  # mail jane.doe@example.com\n"


class NoLearnedCheck:
    """A guard whose full check must not be called on an answer."""

    def check(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("Guard.check ran on an answer")


def _filter(state: dict[str, Any], blocked: list[str] | None = None) -> GuardOutput:
    return GuardOutput(NoLearnedCheck(), PRESETS["balanced"], ToolPolicy.of(None),  # type: ignore[arg-type]
                       blocked or [], False, state,
                       GuardStageMetrics(CollectorRegistry()))


def _chunk(text: str) -> Chunk:
    return Chunk({"object": "chat.completion.chunk",
                  "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]})


def test_a_non_streamed_answer_is_the_stream_filter_over_the_whole_text() -> None:
    state: dict[str, Any] = {"log": {}}
    out = _filter(state).on_chunk(None, _chunk(ANSWER))  # type: ignore[arg-type]
    want = filter_text(ANSWER, PRESETS["balanced"])
    assert [c.content for c in out] == [want.text]
    assert "[EMAIL_ADDRESS]" in want.text and "3.5355339059327378" in want.text
    assert state["log"]["output"][0]["verdict"] == "redact"
    assert state["log"]["output"][0]["categories"] == ["pii"]


def test_a_clean_answer_passes_unchanged_and_a_blocked_phrase_stops_it() -> None:
    state: dict[str, Any] = {"log": {}}
    chunk = _chunk("The answer is B.")
    assert _filter(state).on_chunk(None, chunk) == [chunk]  # type: ignore[arg-type]
    assert state["log"]["output"][0]["verdict"] == "allow"
    with pytest.raises(StopOutput):
        _filter({"log": {}}, ["answer is b"]).on_chunk(None, chunk)  # type: ignore[arg-type]
