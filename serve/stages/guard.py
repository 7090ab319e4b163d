"""Stage ``guard``: learned-plus-rule guardrails on what goes in and what comes out.

Plugged in by the serve group ``conf/guard/`` (``lmroute serve guard=balanced``), before
``pre-checks`` (contract: docs/contracts.md, "Pipeline stages"; library:
``router_model.guard``).

``before`` (input stage, before routing): the policy is the preset of the config,
overridden per routing profile (``profiles``) and per API key (``keys``, by key name or
id). Every message's text is checked (``Guard.check``; an assistant message, an earlier
answer, by rules and secrets only: the classifier is trained on requests and blocks most
code answers, docs/guard.md "Answers are not requests"; tool results get the full check)
and every tool call already in the conversation (``check_tool_call``); tools the request
offers must be on the key's
allow-list. A blocked request gets a 400 ``content_policy_violation`` (403
``tool_not_allowed`` for a tool) naming the categories, never the matched text; nothing is
sent to a backend. PII / secrets to redact are replaced by typed placeholders
(``ctx.set_messages``) before any backend sees them, or, with ``edge_only_on_pii``, the
request is marked sensitive and routed to edge backends only (the existing rule).

``output_filter`` (output stage): a streamed answer goes through
``router_model.guard.stream.OutputFilter`` (hold-back buffer, bounded work per chunk); a
non-streamed one through the same filter at once (``stages.guard_output``: the learned
classifier is for requests, not answers); tool calls in the answer are held to
the end, checked (allow-list + arguments) and released or refused. A stopped answer ends
with the pipeline's error (an SSE error event on a stream).

``finish`` writes the decisions to ``meta.stages.guard`` of the log row (verdicts,
categories, scores, microseconds, entity types: no text) and to Prometheus
(``lmroute_guard_decisions_total{stage,verdict}``, ``lmroute_guard_seconds{stage}``).
"""

from __future__ import annotations

import logging
from typing import Any

from router_model.guard.decision import GuardDecision, merge
from router_model.guard.policy import GuardPolicy, make_policy
from router_model.guard.runtime import Guard
from router_model.guard.tools import ToolPolicy, check_tool_call
from serve.context import RequestContext
from serve.errors import GatewayError
from serve.filters import OutputFilter
from serve.pipeline import Stage
from serve.services import Services
from serve.stages.guard_output import GuardOutput, GuardStageMetrics

log = logging.getLogger(__name__)
__all__ = ["GuardStage", "blocked_error", "tool_error"]


def blocked_error(d: GuardDecision, where: str = "request") -> GatewayError:
    cats = ", ".join(c for c in d.categories if d.actions.get(c) == "block") or "policy"
    return GatewayError(400, f"The {where} was blocked by the content policy "
                        f"(category: {cats}).", code="content_policy_violation")


def tool_error(name: str) -> GatewayError:
    return GatewayError(403, f"Tool {name[:80]!r} is not allowed for this API key.",
                        type_="permission_error", code="tool_not_allowed", param="tools")


def _texts(message: dict[str, Any]) -> list[tuple[int | None, str]]:
    """(part index or None, text) of a message's content."""
    c = message.get("content")
    if isinstance(c, str):
        return [(None, c)]
    if isinstance(c, list):
        return [(i, p["text"]) for i, p in enumerate(c) if isinstance(p, dict)
                and p.get("type") == "text" and isinstance(p.get("text"), str)]
    return []


def _tool_calls(message: dict[str, Any]) -> list[tuple[str, Any]]:
    """(function name, arguments) of each tool call a message holds."""
    out = []
    for tc in message.get("tool_calls") or []:
        fn = ((tc or {}).get("function") or {}) if isinstance(tc, dict) else {}
        out.append((str(fn.get("name") or ""), fn.get("arguments")))
    return out


def _learned(message: dict[str, Any]) -> bool:
    """Whether the request classifier reads this message: not an assistant's (an earlier
    answer is no request; docs/guard.md, "Answers are not requests")."""
    return message.get("role") != "assistant"


class GuardStage(Stage[Services]):
    """The guard in the request path (see module).

    Args:
        artifact: guard artifact directory. int8: load the int8 graph.
        preset, actions, operating_point, edge_only_on_pii: the default policy.
        tools: the default tool allow-list (None = any tool).
        profiles / keys: per routing profile / per API key (name or id) overrides, each
            ``{preset, actions, operating_point, edge_only_on_pii, tools}``.
        check_output: filter answers too. blocked_phrases: text an answer may never contain.
        redact_entities: entity types to redact (None: all but the policy's default list).
    """

    name = "guard"

    def __init__(self, artifact: str, int8: bool = False, preset: str = "balanced",
                 actions: dict[str, str] | None = None, operating_point: str | None = None,
                 edge_only_on_pii: bool = False, tools: list[str] | None = None,
                 profiles: dict[str, dict[str, Any]] | None = None,
                 keys: dict[str, dict[str, Any]] | None = None, check_output: bool = True,
                 blocked_phrases: list[str] | None = None,
                 redact_entities: list[str] | None = None) -> None:
        self.artifact, self.int8 = artifact, int8
        base = {"preset": preset, "actions": actions or {}, "operating_point": operating_point,
                "edge_only_on_pii": edge_only_on_pii, "tools": tools,
                "redact_entities": redact_entities}
        self._base = base
        self._default = self._build(base)
        self._profiles = {k: self._build({**base, **v}) for k, v in (profiles or {}).items()}
        self._keys = {k: self._build({**base, **v}) for k, v in (keys or {}).items()}
        self.check_output = check_output
        self.blocked = list(blocked_phrases or [])
        self.guard: Guard | None = None
        self.metrics: GuardStageMetrics | None = None

    @staticmethod
    def _build(spec: dict[str, Any]) -> tuple[GuardPolicy, ToolPolicy]:
        try:
            pol = make_policy(spec.get("preset", "balanced"), spec.get("actions") or {},
                              spec.get("operating_point"), spec.get("redact_entities"),
                              bool(spec.get("edge_only_on_pii", False)))
        except ValueError as e:
            raise ValueError(f"guard: {e}") from None
        return pol, ToolPolicy.of(spec.get("tools"))

    async def start(self, svc: Services) -> None:
        self.guard = await svc.run_sync(Guard.load, self.artifact, self.int8)
        self.metrics = GuardStageMetrics(svc.metrics.registry)
        log.info("guard: %s loaded (checks %s)", self.artifact, self.guard.manifest["checks"])

    def policy(self, ctx: RequestContext) -> tuple[GuardPolicy, ToolPolicy]:
        """The key's policy, else the profile's, else the default."""
        return self._lookup(ctx.key, ctx.profile or ctx.requested_model)

    def _offered_tools(self, ctx: RequestContext, tools: ToolPolicy) -> None:
        for t in ctx.body.get("tools") or []:
            name = str(((t or {}).get("function") or {}).get("name") or "") \
                if isinstance(t, dict) else ""
            if not tools.allows(name):
                raise tool_error(name)

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        assert self.guard is not None and self.metrics is not None
        pol, tools = self.policy(ctx)
        state: dict[str, Any] = {"log": {"input": []}}
        ctx.state[self.name] = state
        try:
            self._offered_tools(ctx, tools)
        except GatewayError:
            state["log"]["input"].append({"verdict": "block", "categories": ["tool"]})
            self.metrics.count("input", "block")
            raise
        messages = ctx.body.get("messages") or []
        new, changed, pii = self._check_messages(messages, pol, tools, state)
        if pii and pol.edge_only_on_pii:
            ctx.sensitive = True
            state["log"]["edge_only"] = True
        elif changed:
            ctx.set_messages(new)
        state["policy"], state["tools"] = pol, tools

    def _check_messages(self, messages: list[Any], pol: GuardPolicy, tools: ToolPolicy,
                        state: dict[str, Any]) -> tuple[list[Any], bool, bool]:
        """Check every text and tool call; raise on block; -> (messages, redacted?, pii?)."""
        assert self.guard is not None and self.metrics is not None
        out, changed, pii = [], False, False
        for m in messages:
            if not isinstance(m, dict):
                out.append(m)
                continue
            m2 = dict(m)
            for idx, text in _texts(m):
                d = self._record(self.guard.check(text, pol, learned=_learned(m)), "input",
                                 state)
                pii = pii or any(c in ("pii", "secret") for c in d.categories)
                if d.redacted != text:
                    changed = True
                    if idx is None:
                        m2["content"] = d.redacted
                    else:
                        parts = list(m2["content"])
                        parts[idx] = {**parts[idx], "text": d.redacted}
                        m2["content"] = parts
            for name, args in _tool_calls(m):
                self._record(check_tool_call(self.guard, name, args, tools, pol), "input",
                             state, name)
            out.append(m2)
        return out, changed, pii

    def _record(self, d: GuardDecision, stage: str, state: dict[str, Any],
                tool: str | None = None) -> GuardDecision:
        assert self.metrics is not None
        state["log"][stage].append(d.log_record())
        self.metrics.count(stage, d.verdict, d.micros)
        if d.blocked:
            log.info("guard: %s blocked (%s)", stage, d.reason)
            raise tool_error(tool) if tool is not None and d.categories == ["tool"] \
                else blocked_error(d)
        return d

    def check_action(self, body: dict[str, Any], key: Any = None) -> GuardDecision:
        """The check endpoint's verdict (``POST /v1/guard``; also a plain Python call):
        ``body`` holds ``text``, ``messages`` or ``tool_call`` (+ optional ``model``)."""
        assert self.guard is not None and self.metrics is not None
        pol, tools = self._lookup(key, str(body.get("model") or ""))
        tc = body.get("tool_call")
        if isinstance(tc, dict):
            d = check_tool_call(self.guard, str(tc.get("name") or ""), tc.get("arguments"),
                                tools, pol)
        elif isinstance(body.get("messages"), list):
            d = self._check_conversation(body["messages"], pol, tools)
        elif isinstance(body.get("text"), str):
            d = self.guard.check(body["text"], pol)
        else:
            raise GatewayError(400, "'text' must be a string, 'messages' a list and "
                               "'tool_call' an object {name, arguments}.", param="text")
        self.metrics.count("check", d.verdict, d.micros)
        return d

    def _check_conversation(self, messages: list[Any], pol: GuardPolicy, tools: ToolPolicy
                            ) -> GuardDecision:
        """The check endpoint on a conversation: each text as the input stage checks it
        (an assistant's by rules and secrets only), each tool call of the history against
        the allow-list and by rules; one merged verdict (``decision.merge``: spans and the
        redacted text in the texts' ``"\n\n"``-joined coordinates)."""
        assert self.guard is not None
        texts, calls = [], []
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise GatewayError(400, f"messages[{i}] must be an object with 'role' and "
                                   f"'content', got {type(m).__name__}.",
                                   param=f"messages[{i}]")
            for _, text in _texts(m):
                texts.append((text, self.guard.check(text, pol, learned=_learned(m))))
            calls += [check_tool_call(self.guard, name, args, tools, pol)
                      for name, args in _tool_calls(m)]
        return merge(texts, calls)

    def _lookup(self, key: Any, model: str) -> tuple[GuardPolicy, ToolPolicy]:
        if key is not None:
            for k in (key.name, key.key_id):
                if k in self._keys:
                    return self._keys[k]
        return self._profiles.get(model, self._default)

    def output_filter(self, ctx: RequestContext) -> OutputFilter | None:
        state = ctx.state.get(self.name)
        if not self.check_output or self.guard is None or not state or "policy" not in state:
            return None
        state["log"]["output"] = []
        assert self.metrics is not None
        return GuardOutput(self.guard, state["policy"], state["tools"], self.blocked,
                           ctx.stream, state, self.metrics)

    async def finish(self, ctx: RequestContext, svc: Services) -> None:
        state = ctx.state.get(self.name)
        out = state.get("output_filter") if state else None
        if out is not None:
            out.summarize()
