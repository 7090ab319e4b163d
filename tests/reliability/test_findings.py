"""Regression tests for what the reliability fuzzer and the chaos suite found (issue #11),
each failing on the gateway before its fix. The in-thread gateway of tests/serve."""

from __future__ import annotations

import json

import pytest

from tests.serve.conftest import control, fake_backend, gateway  # noqa: F401 (fixtures)
from tests.serve.test_errors import assert_error, post

CHAT = {"model": "lmroute/auto", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("value", [{"type": "function", "function": {"name": "f"}},
                                   ["auto"], {"no": "type"}])
def test_tool_choice_object_or_list_is_not_a_500(gateway, value) -> None:  # noqa: F811
    """Fuzzer: an object tool_choice (the OpenAI form naming a function) was a 500
    (``dict in frozenset`` raised TypeError); a list too."""
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    r = post(gateway(), json.dumps({**CHAT, "tools": tools, "tool_choice": value}))
    if isinstance(value, dict) and "type" in value:
        assert r.status_code == 200, r.text
    else:
        assert assert_error(r, 400, "invalid_request")["param"] == "tool_choice"
