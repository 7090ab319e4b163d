"""Route with an exported artifact: raw text -> Decision, in well under a millisecond.

``Router.load(dir)`` verifies the artifact (``ArtifactError`` otherwise) and opens one
ONNX Runtime session tuned for latency (one intra-op thread, sequential execution).
Execution providers: CPU by default; ``providers="auto"`` prefers OpenVINO, QNN or
CoreML when installed. A Router holds no mutable state after loading, and ONNX
Runtime's ``run`` and the Rust tokenizer are thread-safe, so one Router can serve
many threads.

Bad requests raise ``InvalidRequest`` (a ValueError naming the field): empty text,
NaN / negative weights, unknown or no allowed models, epsilon outside [0, 1].
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
from router_model.policies.explore import check_epsilon
from router_model.reward import NEG_INF, RewardWeights
from router_model.tokenization import encode, load_tokenizer

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
        self._all_allowed = np.ones(len(self.models), dtype=bool)
        self._all_allowed.flags.writeable = False
        self._masks: dict[tuple[str, ...], np.ndarray] = {}  # allowed -> read-only mask

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
        if allowed is None:
            return self._all_allowed
        if isinstance(allowed, str):
            allowed = [allowed]
        key = tuple(allowed)
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        unknown = [m for m in allowed if m not in self._index]
        if unknown:
            raise InvalidRequest("allowed", f"unknown models {unknown}; known: {self.models}")
        if not allowed:
            raise InvalidRequest("allowed", "expected at least one model")
        m = np.zeros(len(self.models), dtype=bool)
        m[[self._index[a] for a in allowed]] = True
        m.flags.writeable = False
        if len(self._masks) < 1024:  # a gateway sees few distinct allowed sets
            self._masks[key] = m
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
        feed = self._feed(self._texts(texts), None, self._all_allowed)
        return self.session.run(["features"], feed)[0]

    def route(self, text: str, weights: RewardWeights | None = None,
              allowed: Sequence[str] | None = None, epsilon: float = 0.0,
              rng: np.random.Generator | None = None) -> Decision:
        """Route one text; ``epsilon`` > 0 explores with exact propensities."""
        t0 = time.perf_counter_ns()
        eps = check_epsilon(epsilon)
        mask = self.mask(allowed)
        out = self._run(self._texts([text]), weights, mask)
        d = self._decision(out, 0, weights, mask, t0)
        if eps > 0.0:  # = epsilon_greedy_probs for one row (mask is never empty here)
            probs = np.where(mask, eps / int(mask.sum()), 0.0)
            probs[d.index] += 1.0 - eps
            rng = rng or np.random.default_rng()
            idx = int(rng.choice(len(probs), p=probs))
            d.model, d.index, d.propensity = self.models[idx], idx, float(probs[idx])
            d.reason = "explore" if idx != int(out["choice"][0]) else d.reason
            d.micros = (time.perf_counter_ns() - t0) / 1e3
        return d

    def route_batch(self, texts: Sequence[str], weights: RewardWeights | None = None,
                    allowed: Sequence[str] | None = None) -> list[Decision]:
        """Route a batch in one ONNX call; each Decision carries the batch time / n."""
        t0 = time.perf_counter_ns()
        mask = self.mask(allowed)
        out = self._run(self._texts(texts), weights, mask)
        ds = [self._decision(out, i, weights, mask, t0) for i in range(len(out["choice"]))]
        per = (time.perf_counter_ns() - t0) / 1e3 / max(len(ds), 1)
        for d in ds:
            d.micros = per
        return ds

    def _decision(self, out: dict[str, np.ndarray], i: int, weights: RewardWeights | None,
                  mask: np.ndarray, t0: int) -> Decision:
        idx = int(out["choice"][i])
        w = weights or RewardWeights()
        within = (out["latency_ms"][i] <= w.max_latency_ms) & \
            (out["cost_usd"][i] <= w.max_cost_usd) & mask
        reason = "argmax utility" if within.any() else \
            "fallback: no allowed model meets the limits; best allowed ignoring them"
        util = {m: max(u, NEG_INF) for m, u in zip(self.models, out["utility"][i].tolist(),
                                                   strict=True)}
        qual = dict(zip(self.models, out["quality"][i].tolist(), strict=True))
        return Decision(self.models[idx], idx, 1.0, (time.perf_counter_ns() - t0) / 1e3,
                        reason, util, qual)
