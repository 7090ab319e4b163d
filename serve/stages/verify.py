"""Stage ``verify``: the cascade with a learned verifier, served as the profile
``lmroute/verified`` (docs/cascade.md; issue #15).

Plugged in by the serve group ``conf/verify/`` (``lmroute serve verify=on``), before ``log``
(so its ``before`` hook runs after ``call`` and its ``finish`` after ``accounting``), with a
companion ``verify-gate`` before ``route`` that refuses streaming requests to the profile
(400, ``param: stream``): the answer must be complete before it can be scored.

For a request to the profile: ``route`` picks the model as for any profile (its weights in
``profiles``), ``call`` answers; this stage scores (prompt, answer, model) with the
verifier (``router_model.verifier_artifact.VerifierRuntime``: the admitted router's
``features`` of the prompt, the answer through the router's tokenizer and static
featurizer). When p(correct) < tau it escalates once, to the allowed model with the highest
router utility among those the router predicts better than the first (none: the first
answer stands), on a live backend whose expected latency (``ttft_ms + tpot_ms *
max_tokens``) fits the request's ``max_latency_ms`` after the time already spent and whose
worst-case cost plus the first call's cost fits ``max_cost_usd``, and only if the key's
budget takes a second reservation. The client gets the second answer (the first if the
second call fails). The log row's cost, energy and tokens are both calls';
``meta.stages.verify`` holds each call (model, backend, verifier score, cost, latency,
tokens) and the outcome. An escalated row is ``.../fallback`` (propensity 1.0): the answer
is not the router's choice alone, so it is not learnable as such.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from router_model.verifier_artifact import VerifierRuntime
from serve.backends.openai_http import BackendError, CallResult
from serve.context import RequestContext, Route
from serve.errors import bad_request
from serve.pipeline import Stage
from serve.services import CoreServices, Services
from serve.stages.call import record_failure
from serve.stages.route import prompt_tokens_bound

log = logging.getLogger(__name__)
__all__ = ["VerifyGate", "VerifyStage", "answer_text"]


def answer_text(result: CallResult) -> str | None:
    """Choice 0's message text, or None (no choices, a tool call without text)."""
    choices = result.doc.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    content = (choices[0].get("message") or {}).get("content")
    return content if isinstance(content, str) else None


class VerifyGate(Stage[Services]):
    """Refuse streaming requests to the verified profile before anything is routed."""

    name = "verify-gate"

    def __init__(self, profile: str) -> None:
        self.profile = profile

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        if ctx.profile == self.profile and ctx.stream:
            raise bad_request(f"The {self.profile} profile is non-streaming (the answer is "
                              "verified before it is returned): send stream=false or use "
                              "another profile.", code="stream_not_supported", param="stream")


class VerifyStage(Stage[CoreServices]):
    """The verified profile (see module).

    Args:
        artifact: the verifier directory (``lmroute verifier train``).
        profile: the profile served (must be in the serve config's ``profiles``).
        tau: the escalation threshold; None = the artifact's (manifest ``tau``).
        gate_before: where the streaming gate goes (a core stage before ``call``).
    """

    name = "verify"

    def __init__(self, artifact: str, profile: str = "lmroute/verified",
                 tau: float | None = None, gate_before: str = "route") -> None:
        if tau is not None and not 0.0 <= tau <= 1.0:
            raise ValueError(f"verify.stage.tau: expected in [0, 1] or null, got {tau}")
        self.artifact, self.profile, self.tau_override = artifact, profile, tau
        self.gate_before = gate_before
        self.runtime: VerifierRuntime | None = None

    def companions(self) -> list[tuple[str, Stage[Any]]]:
        """Stages the factory inserts with this one: (anchor, stage)."""
        return [(self.gate_before, VerifyGate(self.profile))]

    @property
    def tau(self) -> float:
        assert self.runtime is not None
        return self.runtime.tau if self.tau_override is None else self.tau_override

    async def start(self, svc: CoreServices) -> None:
        if self.profile not in svc.settings.profiles:
            raise ValueError(f"verify.stage.profile: {self.profile!r} is not in profiles "
                             f"(have {sorted(svc.settings.profiles)})")
        self.runtime = rt = await svc.run_sync(VerifierRuntime, self.artifact)
        rt.score(np.zeros(rt.d_prompt, dtype=np.float32), "warm up", rt.models[0])
        log.info("verify: %s serves %s (tau %.3f, %d models)", self.artifact, self.profile,
                 self.tau, len(self.runtime.models))

    async def before(self, ctx: RequestContext, svc: CoreServices) -> None:
        if ctx.profile != self.profile or ctx.result is None or ctx.answered is None:
            return
        first, res = ctx.answered, ctx.result
        st: dict[str, Any] = {"tau": round(self.tau, 6)}
        ctx.state[self.name] = st
        call1 = _call_record(first, res)
        st["calls"] = [call1]
        why = await self._score(ctx, svc, answer_text(res), call1)
        score = call1["score"]
        if score is None:
            return self._outcome(ctx, st, "unverified", why)
        if score >= self.tau:
            return self._outcome(ctx, st, "accepted", f"score {score:.3f} >= tau {self.tau:.3f}")
        routes, why = self._targets(ctx, svc, first, call1["cost_usd"])
        if routes and not await self._reserve(ctx, svc, routes):
            routes, why = [], "the key's daily budget cannot take a second call"
        if not routes:
            return self._outcome(ctx, st, "kept", f"score {score:.3f} < tau; {why}")
        await self._escalate(ctx, svc, st, routes, score)

    async def _escalate(self, ctx: RequestContext, svc: CoreServices, st: dict[str, Any],
                        routes: list[Route], score: float) -> None:
        first = ctx.answered
        assert first is not None
        got = await _call_first_live(ctx, svc, routes)
        if got is None:
            return self._outcome(ctx, st, "kept", f"score {score:.3f} < tau; the second call "
                                 f"to {routes[0].model} failed")
        route, res = got
        call2 = _call_record(route, res)
        await self._score(ctx, svc, answer_text(res), call2)
        st["calls"].append(call2)
        ctx.answered, ctx.result = route, res
        self._outcome(ctx, st, "escalated", f"score {score:.3f} < tau {self.tau:.3f}: "
                      f"{first.model} -> {route.model}")

    def _outcome(self, ctx: RequestContext, st: dict[str, Any], outcome: str,
                 why: str) -> None:
        st["outcome"], st["why"] = outcome, why
        ctx.reason += f"; verify: {outcome} ({why})"
        ctx.extra_headers["x-lmroute-verify"] = outcome
        s = st["calls"][0].get("score")
        if s is not None:
            ctx.extra_headers["x-lmroute-verifier-score"] = f"{s:.4f}"

    async def _score(self, ctx: RequestContext, svc: CoreServices, text: str | None,
                     rec: dict[str, Any]) -> str:
        """Write p(correct) (``score``, None when not scored) and its time into the call's
        record ``rec``; returns why it was not scored ("" when it was). Inline when the
        request is alone in flight, else on the gateway's workers (as the route stage)."""
        rt = self.runtime
        assert rt is not None
        rec["score"] = None
        embed = getattr(ctx.router, "embed", None)
        if text is None:
            return "the answer has no text"
        if embed is None or ctx.artifact != rt.router_sha:
            return "the serving router is not the one the verifier was trained for"
        if not rt.knows(rec["model"]):
            return f"{rec['model']} is not one of the verifier's models"
        t = time.perf_counter()
        args = (rt, embed, ctx.text, text, rec["model"])
        s = svc.settings
        if s.route_in_thread and getattr(svc, "in_flight", 0) >= s.route_thread_min_in_flight:
            rec["score"] = await svc.run_sync(_p_correct, *args)
        else:
            rec["score"] = _p_correct(*args)
        rec["verifier_us"] = round((time.perf_counter() - t) * 1e6, 1)
        return ""

    def _targets(self, ctx: RequestContext, svc: CoreServices, first: Route,
                 first_cost: float) -> tuple[list[Route], str]:
        """The escalation model's usable routes (or [] and why)."""
        d = ctx.decision
        if d is None:
            return [], "no routing decision (fallback backend answered)"
        q0 = d.quality.get(first.model, -np.inf)
        # models whose call already failed in this request (the chain fell back) are skipped
        failed = {r.model for r in ctx.chain[:ctx.chain.index(first)]} \
            if first in ctx.chain else set()
        better = sorted((m for m in ctx.allowed if m != first.model and m not in failed
                         and d.quality[m] > q0), key=lambda m: -d.utility.get(m, -1e30))
        if not better:
            return [], f"no allowed model is predicted better than {first.model}"
        out_tokens = ctx.max_tokens or svc.settings.default_max_tokens
        w = ctx.weights
        spent_ms = (time.perf_counter() - ctx.t0) * 1e3
        for model in better:
            live = svc.pool.by_load(svc.pool.live_for(model, edge_only=ctx.sensitive))
            routes = [Route(model, b) for b in live
                      if b.settings.context_tokens >= ctx.prompt_tokens_est
                      and (w is None or _fits(b, ctx, w, spent_ms, first_cost, out_tokens))]
            if routes:
                return routes, ""
        return [], "no better model has a live backend within the latency / cost limits"

    async def _reserve(self, ctx: RequestContext, svc: CoreServices,
                       routes: list[Route]) -> bool:
        key = ctx.key
        if not ctx.budget_day or key is None or svc.keys is None:
            return True
        out_tokens = ctx.max_tokens or svc.settings.default_max_tokens
        est = max(r.backend.cost_usd(prompt_tokens_bound(ctx), out_tokens) for r in routes)
        if not await svc.keys.run(svc.keys.reserve, key, est, ctx.budget_day):
            return False
        ctx.reserved_usd += est
        return True

    async def finish(self, ctx: RequestContext, svc: CoreServices) -> None:
        st = ctx.state.get(self.name)
        if not st or "calls" not in st:
            return
        calls = st["calls"]
        if len(calls) == 2:
            if not calls[1].get("cost_usd") and ctx.cost_usd:
                calls[1]["cost_usd"] = ctx.cost_usd  # accounting's (estimated tokens)
            await _add_first_call(ctx, svc, calls[0])
        st["total_cost_usd"] = ctx.cost_usd
        st["log"] = {k: v for k, v in st.items() if k != "log"}


def _p_correct(rt: VerifierRuntime, embed: Any, prompt: str, answer: str, model: str
               ) -> float:
    """The router's features of the prompt, then the verifier's score of the answer."""
    return rt.score(np.asarray(embed([prompt]))[0], answer, model)


def _fits(b: Any, ctx: RequestContext, w: Any, spent_ms: float, first_cost: float,
          out_tokens: int) -> bool:
    """The backend's expected latency and worst-case cost fit the request's limits."""
    cost = first_cost + b.cost_usd(prompt_tokens_bound(ctx), out_tokens)
    return bool(spent_ms + b.expected_latency_ms(out_tokens) <= w.max_latency_ms
                and cost <= w.max_cost_usd)


def _call_record(route: Route, res: CallResult) -> dict[str, Any]:
    b = route.backend
    return {"model": route.model, "backend": b.name, "latency_ms": round(res.latency_ms, 3),
            "prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens,
            "cost_usd": b.cost_usd(res.prompt_tokens, res.completion_tokens),
            "energy_j": b.energy_j(res.prompt_tokens, res.completion_tokens),
            "attempts": res.attempts}


async def _call_first_live(ctx: RequestContext, svc: CoreServices, routes: list[Route]
                           ) -> tuple[Route, CallResult] | None:
    """The first of ``routes`` that answers (retries inside each backend), or None."""
    for route in routes:
        b = route.backend
        try:
            res = await b.complete(ctx.body)
        except BackendError as exc:
            ctx.attempts += b.settings.max_retries + 1
            ctx.failures.append(f"verify escalation: {exc}")
            if not exc.client_error:
                record_failure(svc, route, str(exc))
            continue
        b.health.record_success()
        ctx.attempts += res.attempts
        return route, res
    return None


async def _add_first_call(ctx: RequestContext, svc: CoreServices, c: dict[str, Any]) -> None:
    """Accounting priced the answer that was returned; add the first (rejected) call: the
    row's cost, energy and tokens, the metrics, and the key's spend."""
    ctx.cost_usd += c["cost_usd"]
    ctx.energy_j += c["energy_j"]
    ctx.prompt_tokens += c["prompt_tokens"]
    ctx.completion_tokens += c["completion_tokens"]
    m = svc.metrics
    m.child(m.cost, c["model"]).inc(c["cost_usd"])
    m.child(m.energy, c["model"]).inc(c["energy_j"])
    m.child(m.tokens, c["model"], "prompt").inc(c["prompt_tokens"])
    m.child(m.tokens, c["model"], "completion").inc(c["completion_tokens"])
    if ctx.budget_day and ctx.key is not None and svc.keys is not None:
        await svc.keys.run(svc.keys.settle, ctx.key.key_id, ctx.budget_day, 0.0, c["cost_usd"])
