"""Route with an exported artifact: raw text -> Decision, in well under a millisecond.

``Router.load(dir)`` verifies the artifact (``ArtifactError`` otherwise) and opens one
ONNX Runtime session tuned for latency (one intra-op thread, sequential execution).
Execution providers: CPU by default; ``providers="auto"`` prefers OpenVINO, QNN or
CoreML when installed. A Router holds no mutable state after loading, and ONNX
Runtime's ``run`` and the Rust tokenizer are thread-safe, so one Router can serve
many threads.

Bad requests raise ``InvalidRequest`` (a ValueError naming the field): empty text,
NaN / negative weights, unknown or no allowed models, epsilon outside [0, 1], latency
offsets of the wrong length or outside [0, 1e9] ms (NaN included).

``route(..., latency_offset_ms=...)`` adds live per-model latency (the gateway's vLLM load
signal) to the predicted latency before the choice; see ``router_model.load_adjust``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from router_model.artifact import ArtifactError, open_artifact
from router_model.decision import Decision
from router_model.load_adjust import load_adjusted
from router_model.policies.explore import check_epsilon, epsilon_greedy_draw
from router_model.reward import NEG_INF, RewardWeights
from router_model.tokenization import _layout_ok, encode, fast_encoder, load_tokenizer

MAX_OFFSET_MS = 1e9  # a latency offset above ~11.6 days is a bug, not a load signal
FALLBACK_REASON = "fallback: no allowed model meets the limits; best allowed ignoring them"
ACCELERATORS = ("OpenVINOExecutionProvider", "QNNExecutionProvider",
                "CoreMLExecutionProvider")
__all__ = ["ArtifactError", "InvalidRequest", "Router"]


class InvalidRequest(ValueError):
    """A bad routing request; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def resolve_providers(providers: Sequence[str] | str | None) -> list[str]:
    """None -> CPU; "auto" -> installed accelerators then CPU; else validated names."""
    available = ort.get_available_providers()
    if providers is None:
        return ["CPUExecutionProvider"]
    if providers == "auto":
        return [p for p in ACCELERATORS if p in available] + ["CPUExecutionProvider"]
    wanted = [providers] if isinstance(providers, str) else list(providers)
    missing = [p for p in wanted if p not in available]
    if missing:
        raise ValueError(f"providers: {missing} not installed; available: {available}")
    return wanted


def session_options(threads: int = 1) -> ort.SessionOptions:
    """Latency-tuned options: ``threads`` intra-op threads, sequential execution."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so


class Router:
    """A loaded router artifact. Use ``Router.load``."""

    def __init__(self, session: ort.InferenceSession, manifest: dict[str, Any],
                 tokenizer_path: Path, directory: Path) -> None:
        self.session = session
        self.manifest = manifest
        self.models: list[str] = list(manifest["models"])
        self.directory = directory
        tok_cfg = manifest["tokenizer"]
        self.max_tokens = int(tok_cfg.get("max_tokens", 512))
        self.tokenizer = load_tokenizer(self.max_tokens, tokenizer_path)
        self._index = {m: i for i, m in enumerate(self.models)}
        self._output_names = [o.name for o in session.get_outputs()]
        self._default_w = RewardWeights().as_array()
        # the single-text fast path (``route``): resolved once, not per request
        self._route_outputs = ["choice", "utility", "quality", "latency_ms", "cost_usd"]
        self._adjust_outputs = [*self._route_outputs, "energy_j"]  # latency offsets given
        self._w_rows: dict[RewardWeights | None, np.ndarray] = {}  # weights -> (1, 5)
        # allowed set -> (1, M) read-only mask row and the allowed indices (few distinct sets)
        self._mask_rows: dict[tuple[str, ...] | None, tuple[np.ndarray, list[int]]] = {}
        fast = fast_encoder(self.tokenizer)
        self._fast = fast if fast.enabled and _layout_ok(self.tokenizer) else None

    @classmethod
    def load(cls, path: str | Path, providers: Sequence[str] | str | None = None,
             int8: bool = False, threads: int = 1) -> Router:
        """Verify and load an artifact directory (``int8``: the QDQ variant)."""
        art = open_artifact(path, int8=int8)
        try:
            sess = ort.InferenceSession(art.onnx_bytes, session_options(threads),
                                        providers=resolve_providers(providers))
        except ort.capi.onnxruntime_pybind11_state.Fail as e:
            raise ArtifactError(f"{art.onnx_path}: ONNX Runtime cannot load it ({e})") from None
        return cls(sess, art.manifest, art.tokenizer_path, art.directory)

    # ---- input validation -------------------------------------------------------
    def _texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str) or not len(texts):
            raise InvalidRequest("texts", "expected a non-empty list of strings")
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise InvalidRequest("text" if len(texts) == 1 else f"texts[{i}]",
                                     "expected a non-empty string")
        return list(texts)

    def _weights(self, weights: RewardWeights | None) -> np.ndarray:
        if weights is None:
            return self._default_w
        if not isinstance(weights, RewardWeights):
            raise InvalidRequest("weights", f"expected RewardWeights, got {type(weights)}")
        return weights.as_array()

    def mask(self, allowed: Sequence[str] | None) -> np.ndarray:
        """(M,) bool mask from allowed model names (None = all); read-only, cached per set."""
        return self._mask_row(allowed)[0][0]

    def _new_mask(self, allowed: Sequence[str] | None) -> np.ndarray:
        """Validate ``allowed`` and build its (M,) mask."""
        if allowed is None:
            return np.ones(len(self.models), dtype=bool)
        unknown = [m for m in allowed if m not in self._index]
        if unknown:
            raise InvalidRequest("allowed", f"unknown models {unknown}; known: {self.models}")
        if not allowed:
            raise InvalidRequest("allowed", "expected at least one model")
        m = np.zeros(len(self.models), dtype=bool)
        m[[self._index[a] for a in allowed]] = True
        return m

    # ---- inference ---------------------------------------------------------------
    def _feed(self, texts: list[str], weights: RewardWeights | None,
              mask: np.ndarray) -> dict[str, np.ndarray]:
        ids, att = encode(self.tokenizer, texts)
        n, w = len(texts), self._weights(weights)
        return {"input_ids": ids, "attention_mask": att,
                "weights": w[None] if n == 1 else np.tile(w, (n, 1)),
                "model_mask": mask[None] if n == 1 else np.tile(mask, (n, 1))}

    def _run(self, texts: list[str], weights: RewardWeights | None,
             mask: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.session.run(self._output_names, self._feed(texts, weights, mask))
        return dict(zip(self._output_names, outs, strict=True))

    def scores(self, texts: Sequence[str], weights: RewardWeights | None = None,
               allowed: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Raw ONNX outputs for a batch: name -> (n, M) / (n,) / (n, d) arrays."""
        return self._run(self._texts(texts), weights, self.mask(allowed))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Query features (n, d) float32 (what kNN baselines use)."""
        feed = self._feed(self._texts(texts), None, self.mask(None))
        return self.session.run(["features"], feed)[0]

    def route(self, text: str, weights: RewardWeights | None = None,
              allowed: Sequence[str] | None = None, epsilon: float = 0.0,
              rng: np.random.Generator | None = None, *,
              latency_offset_ms: Sequence[float] | None = None) -> Decision:
        """Route one text; ``epsilon`` > 0 explores with exact propensities.

        The gateway's hot path: the same outputs as ``route_batch`` for one text, with the
        per-request numpy work cut to the ONNX call (weights and mask rows are cached, the
        limits check and the epsilon-greedy draw are plain Python over M models).
        ``latency_offset_ms`` (M,) in ``self.models`` order: extra expected latency (live
        load) added before utility and limits (``load_adjust``); None / all 0: fast path.
        """
        t0 = time.perf_counter_ns()
        eps = check_epsilon(epsilon)
        offsets = self._offsets(latency_offset_ms)
        mask_row, allowed_idx = self._mask_row(allowed)
        ids = self._ids(self._texts([text])[0])
        w_row = self._w_row(weights)
        outs = self.session.run(self._route_outputs if offsets is None else
                                self._adjust_outputs, {
            "input_ids": ids, "attention_mask": np.ones_like(ids),
            "weights": w_row, "model_mask": mask_row})
        choice, util, qual, lat, cost = outs[:5]
        if offsets is None:
            greedy, util_row = int(choice[0]), util[0].tolist()
            reason = self._reason(lat[0].tolist(), cost[0].tolist(), w_row, allowed_idx)
        else:
            greedy, util_row, reason = self._adjusted(outs, offsets, weights, mask_row)
        idx, propensity = greedy, 1.0
        if eps > 0.0:
            u = float((rng or np.random.default_rng()).random())
            idx, propensity = epsilon_greedy_draw(greedy, allowed_idx, eps, u)
            reason = "explore" if idx != greedy else reason
        return Decision(self.models[idx], idx, propensity,
                        (time.perf_counter_ns() - t0) / 1e3, reason,
                        *self._score_dicts(util_row, qual[0].tolist()))

    def _score_dicts(self, util: list[float], qual: list[float]
                     ) -> tuple[dict[str, float], dict[str, float]]:
        """Decision.utility (excluded models at NEG_INF) and Decision.quality."""
        return ({m: max(x, NEG_INF) for m, x in zip(self.models, util, strict=True)},
                dict(zip(self.models, qual, strict=True)))

    def _offsets(self, offsets: Sequence[float] | None) -> np.ndarray | None:
        """Validated (M,) float32 latency offsets; None when absent or all zeros."""
        if offsets is None:
            return None
        try:
            vals = [float(x) for x in offsets]
        except (TypeError, ValueError):
            raise InvalidRequest("latency_offset_ms", "expected a sequence of numbers "
                                 f"(ms), got {type(offsets).__name__}") from None
        if len(vals) != len(self.models):
            raise InvalidRequest("latency_offset_ms", f"expected {len(self.models)} values "
                                 f"(one per model, in router.models order), got {len(vals)}")
        bad = [x for x in vals if not 0.0 <= x <= MAX_OFFSET_MS]  # NaN too
        if bad:
            raise InvalidRequest("latency_offset_ms",
                                 f"expected values in [0, {MAX_OFFSET_MS:g}] ms, got {bad}")
        return np.array(vals, dtype=np.float32) if any(vals) else None

    def _adjusted(self, outs: list[np.ndarray], offsets: np.ndarray,
                  weights: RewardWeights | None,
                  mask_row: np.ndarray) -> tuple[int, list[float], str]:
        """Greedy index, utilities and reason with the latency offsets added (outputs in
        ``_adjust_outputs`` order)."""
        w = weights if weights is not None else RewardWeights()
        adj = load_adjusted(outs[2], outs[4], outs[3], outs[5], offsets, w, mask_row)
        moved = adj.greedy != int(outs[0][0])
        if adj.fallback:
            reason = FALLBACK_REASON + (" (load-adjusted)" if moved else "")
        else:
            reason = "argmax utility (load-adjusted)" if moved else "argmax utility"
        return adj.greedy, adj.utility, reason

    @staticmethod
    def _reason(lat: list[float], cost: list[float], w_row: np.ndarray,
                allowed_idx: list[int]) -> str:
        """Why the greedy choice: within the limits (compared in float32, as the graph
        does), or the documented fallback."""
        max_lat, max_cost = w_row[0, 3:5].tolist()
        if any(lat[i] <= max_lat and cost[i] <= max_cost for i in allowed_idx):
            return "argmax utility"
        return FALLBACK_REASON

    def _ids(self, text: str) -> np.ndarray:
        """(1, T) int64 token ids (the exact fast tokenizer when it applies)."""
        row = self._fast.encode_ids(text, self.max_tokens) if self._fast is not None else None
        return np.array([row], dtype=np.int64) if row is not None else \
            encode(self.tokenizer, [text])[0]

    def _w_row(self, weights: RewardWeights | None) -> np.ndarray:
        """(1, 5) float32 weights row, cached per (hashable, frozen) RewardWeights."""
        row = self._w_rows.get(weights)
        if row is None:
            row = self._weights(weights)[None]
            if len(self._w_rows) < 1024:
                self._w_rows[weights] = row
        return row

    def _mask_row(self, allowed: Sequence[str] | None) -> tuple[np.ndarray, list[int]]:
        """(1, M) read-only mask row and the allowed indices, cached per allowed set."""
        key = None if allowed is None else (allowed,) if isinstance(allowed, str) \
            else tuple(allowed)
        hit = self._mask_rows.get(key)
        if hit is None:
            row = self._new_mask(key)[None]
            row.flags.writeable = False
            hit = (row, np.flatnonzero(row[0]).tolist())
            if len(self._mask_rows) < 1024:
                self._mask_rows[key] = hit
        return hit

    def route_batch(self, texts: Sequence[str], weights: RewardWeights | None = None,
                    allowed: Sequence[str] | None = None) -> list[Decision]:
        """Route a batch in one ONNX call; each Decision carries the batch time / n."""
        t0 = time.perf_counter_ns()
        mask_row, allowed_idx = self._mask_row(allowed)
        w_row = self._w_row(weights)
        out = self._run(self._texts(texts), weights, mask_row[0])
        ds = [self._decision(out, i, w_row, allowed_idx) for i in range(len(out["choice"]))]
        per = (time.perf_counter_ns() - t0) / 1e3 / max(len(ds), 1)
        for d in ds:
            d.micros = per
        return ds

    def _decision(self, out: dict[str, np.ndarray], i: int, w_row: np.ndarray,
                  allowed_idx: list[int]) -> Decision:
        idx = int(out["choice"][i])
        reason = self._reason(out["latency_ms"][i].tolist(), out["cost_usd"][i].tolist(),
                              w_row, allowed_idx)
        return Decision(self.models[idx], idx, 1.0, 0.0, reason,
                        *self._score_dicts(out["utility"][i].tolist(),
                                           out["quality"][i].tolist()))
