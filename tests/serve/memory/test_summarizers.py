"""Summarizers: the registry, the stub's determinism, the extractive one keeping
sentences verbatim with their source ids, the LLM one's request (a fake client stands in
for the protocol) and, slow, the real SmolLM2 through the embedded llama.cpp server."""

from __future__ import annotations

import re

import pytest

from serve.memory.errors import InvalidInput
from serve.memory.summarizers import SourceItem, make_summarizer, names

ITEMS = [
    SourceItem("D1:1", "user", "Caroline: Hey! Good to see you. I went to a LGBTQ support "
               "group yesterday and it was so powerful.", 1683554160.0),
    SourceItem("D1:2", "assistant", "Melanie: Wow, great! I painted a sunrise by the lake "
               "with my two kids last week.", 1683554220.0),
    SourceItem("D1:3", "user", "Caroline: Thanks! Cool.", 1683554280.0),
    SourceItem("D1:4", "user", "Caroline: I am thinking of studying psychology and a "
               "counseling certification in Boston next year.", 1683640680.0),
]


def test_registry() -> None:
    assert {"stub", "extractive", "llm"} <= set(names())
    with pytest.raises(InvalidInput, match="summarizer"):
        make_summarizer("nope")


def test_stub_is_deterministic_and_quotes_sources() -> None:
    s = make_summarizer("stub")
    assert s.summarize(ITEMS, 1) == s.summarize(ITEMS, 1)
    assert "D1:2: Melanie: Wow, great! I painted" in s.summarize(ITEMS, 1)


def test_extractive_keeps_salient_sentences_verbatim_with_ids() -> None:
    s = make_summarizer("extractive", max_words=40)
    out = s.summarize(ITEMS, 1)
    lines = out.splitlines()
    assert lines and all(re.match(r"^\[D1:\d \| \d+ May 2023\] ", ln) for ln in lines)
    sources = {it.id: it.text for it in ITEMS}
    for ln in lines:
        src, sentence = re.match(r"^\[(\S+) \|[^\]]*\] (.*)$", ln).groups()  # type: ignore[union-attr]
        speaker, _, body = sentence.partition(": ")
        assert body in sources[src] and sources[src].startswith(speaker)
    assert "psychology" in out and "Thanks! Cool." not in out  # salient kept, filler not
    assert sum(len(ln.split()) for ln in lines) <= 40 + 8 * len(lines)
    merged = s.summarize([SourceItem("s1", "summary", out)], 2)
    assert all(ln in out.splitlines() for ln in merged.splitlines())  # ids survive merges


class FakeClient:
    """Stands in for an OpenAI-compatible backend (the protocol only)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, str]], int]] = []

    def complete(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> str:
        self.calls.append((model, messages, max_tokens))
        return "  Caroline went to a support group.  "


def test_llm_summarizer_request() -> None:
    fake = FakeClient()
    s = make_summarizer("llm", client=fake, model="m", max_tokens=50, broad_max_tokens=70)
    assert s.summarize(ITEMS, 1) == "Caroline went to a support group."
    model, msgs, budget = fake.calls[0]
    assert model == "m" and budget == 50 and msgs[0]["role"] == "system"
    assert "[8 May 2023]" in msgs[1]["content"] and "[9 May 2023]" in msgs[1]["content"]
    s.summarize([SourceItem("a", "summary", "x"), SourceItem("b", "summary", "y")], 2)
    assert fake.calls[1][2] == 70 and "Merge" in fake.calls[1][1][1]["content"]
    assert s.key != make_summarizer("llm", client=fake, model="other").key


@pytest.mark.slow
def test_real_smollm2_summarizes() -> None:
    pytest.importorskip("llama_cpp")
    s = make_summarizer("llm")
    try:
        out = s.summarize(ITEMS, 1)
        assert out and out == s.summarize(ITEMS, 1)  # greedy: deterministic
    finally:
        s.close()
