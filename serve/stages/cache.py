"""Stage ``cache``: answer a repeated question from the semantic cache, store new answers.

Plugged in by the serve group ``conf/cache/`` (``lmroute serve cache=semantic``), before
``pre-checks``, after guard input and memory (so the key covers any context the memory
added). Contract: docs/contracts.md, "Pipeline stages"; library: ``serve.cache``.

``before``:
- bypass when the request says so (header ``x-lmroute-cache: bypass`` or body flag
  ``"lmroute_cache": false``, removed before the body goes upstream) or cannot share an
  answer (``n`` > 1, images, ...): header ``x-lmroute-cache: bypass``;
- else the key: tenant = the API key's id (plus ``x-lmroute-tenant`` when sent, which only
  subdivides a key's partition), context = model or profile, messages before the last
  one, answer-changing parameters, routing overrides; lookup;
- a hit answers locally (``LocalAnswer`` marker ``cache``: no route, budget or backend
  call; logged ``local/cache`` with cost 0 and ``meta.saved_cost_usd``; never a training
  row), headers ``x-lmroute-cache: hit``, ``-tier``, ``-score``, ``-similarity``;
- a miss: ``x-lmroute-cache: miss`` (with the nearest similarity), and the key is kept in
  ``ctx.state["cache"]`` for ``finish``.

``output_filter`` (misses of streamed requests only) records the chunks as they are sent.
``finish`` stores the answer only when it completed normally: status 200, no error,
``ctx.answer_complete`` (a stream that reached ``[DONE]``), a complete finish reason; a
truncated, failed or abandoned stream is never stored. With the in-process store the
entry is in the exact tier before the response is sent (the same question right after is
a hit); its embedding and vector-index insert (an HNSW insert is the costly part of a
store) wait in ``ctx.after_response`` until the client has the whole answer.

Metrics (the gateway's registry): ``lmroute_cache_lookups_total{outcome}``,
``lmroute_cache_stores_total{outcome}``, ``lmroute_cache_saved_usd_total``,
``lmroute_cache_false_hit_feedback_total``, ``lmroute_cache_entries``,
``lmroute_cache_lookup_seconds``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from functools import partial
from typing import Any

from serve.body_rules import CACHE_FLAG
from serve.cache.cache import Lookup, SemanticCache
from serve.cache.config import CacheConf, cache_conf_from_dict
from serve.cache.entry import StoredAnswer
from serve.cache.keys import CacheKey, Uncacheable, request_key
from serve.cache.stage_metrics import CacheMetrics
from serve.cache.stream import StreamRecorder
from serve.context import RequestContext
from serve.filters import Chunk, OutputFilter
from serve.local import LocalAnswer
from serve.pipeline import Stage
from serve.services import Services

log = logging.getLogger(__name__)
HEADER = "x-lmroute-cache"
BYPASS_VALUES = frozenset({"bypass", "off", "no-cache", "false", "0"})
RECENT_HITS = 10_000  # request id -> entry id of recent hits (false-hit feedback)


class RecordingFilter(OutputFilter):
    """Passes every chunk through unchanged, recording it for the cache."""

    def __init__(self, recorder: StreamRecorder) -> None:
        self.recorder = recorder

    def on_chunk(self, ctx: RequestContext, chunk: Chunk) -> list[Chunk]:
        self.recorder.feed(chunk.doc)
        return [chunk]


class CacheStage(Stage[Services]):
    """The semantic cache in the request path (see module). Keyword arguments: the
    fields of ``serve.cache.config.CacheConf``."""

    name = "cache"

    def __init__(self, **conf: Any) -> None:
        self.conf: CacheConf = cache_conf_from_dict(conf)
        self.cache: SemanticCache | None = None
        self.metrics: CacheMetrics | None = None
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._inline = self.conf.store.kind == "memory"

    async def start(self, svc: Services) -> None:
        from serve.cache.build import build_cache

        conf = self.conf
        router_dir = svc.settings.router
        if conf.semantic and conf.embedder.kind == "router" and not conf.embedder.router_dir \
                and not router_dir:
            log.warning("cache: no router artifact to embed with: exact tier only")
            conf.semantic = False
        self.cache = await svc.run_sync(build_cache, conf, router_dir)
        self.metrics = CacheMetrics(svc.metrics.registry, self.cache)
        from serve.cache.erasure import register

        register(self.cache)

    async def close(self) -> None:
        if self.cache is not None:
            from serve.cache.erasure import unregister

            unregister(self.cache)
            self.cache.store.close()

    # ---- the request path -------------------------------------------------------------
    def _bypass(self, ctx: RequestContext) -> str | None:
        flag = ctx.state.get(CACHE_FLAG)  # taken out of the body by the admit stage
        if flag is False or str(ctx.headers.get(self.conf.bypass_header, "")).strip().lower() \
                in BYPASS_VALUES:
            return "requested"
        return None

    def tenant(self, ctx: RequestContext) -> str:
        """The hard partition: the API key (or "anonymous" without auth), subdivided by
        an explicit tenant header; a header can never reach another key's entries."""
        owner = f"key:{ctx.key.key_id}" if ctx.key is not None else "anonymous"
        explicit = str(ctx.headers.get(self.conf.tenant_header, "") or "").strip()
        return f"{owner}/tenant:{explicit}" if explicit else owner

    @staticmethod
    def routing(ctx: RequestContext) -> dict[str, str]:
        """What changes a profile request's routing (so its answer) besides the body."""
        return {"profile": ctx.profile or "", "weights": repr(ctx.weights),
                "sensitive": str(ctx.sensitive), "task": ctx.task or ""}

    async def before(self, ctx: RequestContext, svc: Services) -> None:
        assert self.cache is not None and self.metrics is not None
        why = self._bypass(ctx)
        key: CacheKey | None = None
        if why is None:
            try:
                key = request_key(ctx.body, self.tenant(ctx), casefold=self.conf.casefold,
                                  routing=self.routing(ctx))
            except Uncacheable as e:
                why = e.reason
        if key is None:
            ctx.extra_headers[HEADER] = "bypass"
            ctx.state[self.name] = {"log": {"outcome": "bypass", "reason": why}}
            self.metrics.lookup("bypass", 0.0)
            log.debug("request %s: cache bypass (%s)", ctx.request_id, why)
            return
        r = self.cache.lookup(key) if self._inline else \
            await svc.run_sync(self.cache.lookup, key)
        self.metrics.lookup(f"hit_{r.tier}" if r.hit else "miss", r.micros / 1e6)
        if r.hit and r.entry is not None:
            self._answer(ctx, r)
            return
        ctx.extra_headers[HEADER] = "miss"
        if math.isfinite(r.similarity):
            ctx.extra_headers[f"{HEADER}-similarity"] = f"{r.similarity:.4f}"
        ctx.state[self.name] = {"key": key, "vector": r.vector,
                                "log": {"outcome": "miss", "similarity": r.similarity
                                        if math.isfinite(r.similarity) else None,
                                        "lookup_us": round(r.micros, 1)},
                                "recorder": StreamRecorder(self.conf.max_answer_chars)
                                if ctx.stream and self.conf.store_streams else None}

    def _answer(self, ctx: RequestContext, r: Lookup) -> None:
        assert r.entry is not None and self.metrics is not None
        e, a = r.entry, r.entry.answer
        headers = {HEADER: "hit", f"{HEADER}-tier": str(r.tier),
                   f"{HEADER}-score": f"{r.score:.4f}",
                   f"{HEADER}-similarity": f"{r.similarity:.4f}"}
        ctx.answer_locally(LocalAnswer(
            "cache", a.content or "", a.model, a.finish_reason,
            [dict(t) for t in a.tool_calls] or None,
            {"prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens},
            saved_cost_usd=e.cost_usd, headers=headers,
            meta={"cache": {"tier": r.tier, "score": r.score, "similarity": r.similarity,
                            "entry_id": e.entry_id, "lookup_us": round(r.micros, 1),
                            "saved_latency_ms": e.latency_ms}}))
        self.metrics.saved(e.cost_usd)
        self._recent[ctx.request_id] = e.entry_id
        while len(self._recent) > RECENT_HITS:
            self._recent.popitem(last=False)

    def output_filter(self, ctx: RequestContext) -> OutputFilter | None:
        st = ctx.state.get(self.name)
        rec = st.get("recorder") if st else None
        return RecordingFilter(rec) if rec is not None else None

    # ---- after the response ---------------------------------------------------------
    def storable(self, ctx: RequestContext) -> StoredAnswer | None:
        """The answer to store, or None when it did not complete normally."""
        st = ctx.state.get(self.name)
        if not st or "key" not in st or ctx.local is not None or ctx.answered is None:
            return None
        if ctx.status != 200 or ctx.error is not None or not ctx.answer_complete:
            return None
        rec: StreamRecorder | None = st.get("recorder")
        if ctx.stream:
            if rec is None:
                return None
            ans = rec.answer(completed=True)
            if ans is None or (ans.content or "") != ctx.answer_text:
                return None
        else:
            try:
                ans = StoredAnswer.from_completion(ctx.result.doc if ctx.result else {})
            except (ValueError, TypeError, AttributeError):
                return None
        return ans

    async def finish(self, ctx: RequestContext, svc: Services) -> None:
        st = ctx.state.get(self.name)
        if not st or "key" not in st or self.cache is None or self.metrics is None:
            return
        ans = self.storable(ctx)
        if ans is None:
            self.metrics.store("refused")
            st["log"]["stored"] = False
            return
        from serve.stages.accounting import Accounting

        assert ctx.answered is not None  # storable() checked it
        Accounting._tokens(ctx)  # the accounting stage's own token rule (runs after us)
        ans = StoredAnswer(ans.content, ans.finish_reason, ans.model or ctx.answered.model,
                           ctx.prompt_tokens, ctx.completion_tokens, ans.tool_calls)
        cost = ctx.answered.backend.cost_usd(ctx.prompt_tokens, ctx.completion_tokens)
        latency = (time.perf_counter() - ctx.t0) * 1e3
        cache, vector = self.cache, st["vector"]
        put = partial(cache.put, st["key"], ans, cost_usd=cost, latency_ms=latency,
                      session=ctx.headers.get(self.conf.session_header) or None)
        if self._inline:  # the exact tier now (read-your-writes), the vector index later
            entry = put(index=False)
            ctx.after_response.append(lambda: cache.index_entry(entry, vector))
        else:
            await svc.run_sync(lambda: put(vector=vector))
        self.metrics.store("stored")
        st["log"]["stored"] = True

    def false_hit(self, request_id: str) -> bool:
        """Feedback that the cached answer of ``request_id`` was wrong: counted, and the
        entry is removed. False when the id was not a recent cache hit."""
        entry_id = self._recent.pop(request_id, None)
        if entry_id is None or self.cache is None or self.metrics is None:
            return False
        self.metrics.false_hit()
        self.cache.remove([entry_id])
        return True
