"""Small plug-in stages for the pipeline tests, built from config by ``_target_``
(``pipeline.extra``) exactly as a guardrail, memory or cache stage would be."""

from __future__ import annotations

from typing import Any

from serve.context import RequestContext
from serve.errors import GatewayError
from serve.filters import Chunk, OutputFilter, StopOutput
from serve.local import LocalAnswer
from serve.pipeline import Stage
from serve.services import Services


class Shout(OutputFilter):
    """Holds back every chunk and emits the whole answer upper-cased at the end (the worst
    case for a relay: nothing before on_end); stops the output if it sees ``stopword``."""

    def __init__(self, stopword: str) -> None:
        self.held: list[Chunk] = []
        self.stopword = stopword

    def on_chunk(self, ctx: RequestContext, chunk: Chunk) -> list[Chunk]:
        self.held.append(chunk)
        if self.stopword and self.stopword in "".join(c.content for c in self.held):
            raise StopOutput(GatewayError(400, "output stopped", code="content_filter"))
        return []

    def on_end(self, ctx: RequestContext) -> list[Chunk]:
        if not self.held:
            return []
        text = "".join(c.content for c in self.held).upper()
        first = self.held[0].with_content(text).without_finish()
        rest = [c for c in self.held[1:] if not c.content]  # finish and usage chunks
        self.held = []
        return [first, *rest]


class ExampleStage(Stage[Services]):
    """Refuses ``block_word``, answers ``ping`` locally, adds a system message (through
    ``ctx.set_messages``), shouts the answer when asked, and logs what it did."""

    name = "example"

    def __init__(self, block_word: str = "forbidden", system: str = "",
                 stopword: str = "") -> None:
        self.block_word, self.system, self.stopword = block_word, system, stopword
        self.started = self.closed = 0
        self.finished: list[tuple[str, bool, int]] = []

    async def start(self, svc: Services) -> None:
        self.started += 1

    async def close(self) -> None:
        self.closed += 1

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        st: dict[str, Any] = ctx.state.setdefault(self.name, {"log": {}})
        if self.block_word in ctx.text:
            st["log"]["blocked"] = True
            raise GatewayError(400, "blocked by the example stage", code="content_blocked")
        if ctx.text.strip() == "ping":
            ctx.answer_locally(LocalAnswer("example", "pong", model="example-model",
                                           saved_cost_usd=0.001,
                                           headers={"x-example": "local"}))
            return
        if self.system:
            ctx.set_messages([{"role": "system", "content": self.system},
                              *ctx.body["messages"]])
            st["log"]["added_system"] = len(self.system)

    def output_filter(self, ctx: RequestContext) -> OutputFilter | None:
        return Shout(self.stopword) if "shout" in ctx.text else None

    async def finish(self, ctx: RequestContext, svc: Services) -> None:
        self.finished.append((ctx.answer_text, ctx.answer_complete, ctx.status))
