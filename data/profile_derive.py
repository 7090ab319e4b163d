"""Derive the serving-profile table from the shared measurement files.

Energy (J per output token) comes from ML.ENERGY (``energy_per_request_j /
avg_output_tokens``), as the MEDIAN over all serving configurations (batch size, tensor
parallelism) measured for the reference model on H100. Latency (TTFT and time per
output token) comes from llmperf: the median over successful requests to hosted
Llama-2 7B/13B/70B chat endpoints, using the anchor nearest in size (log distance).

Why not ML.ENERGY's ``avg_tpot_s`` for latency: it is measured at batch sizes 64-1536
(throughput-optimised serving) and is 35-280 ms/token, 3-10x what hosted endpoints
deliver (llmperf: 8-25 ms); it is kept in ``profile_source`` for reference and used only
to scale decode speed for the undisclosed frontier models (405B vs 70B).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.model_catalog import (
    DCROUTER_MODELS,
    EDGE_MODEL,
    HOSTED_ASSUMPTION,
    LLAMA_70B,
    LLAMA_405B,
    STATIC_SPECS,
    ModelSpec,
)
from data.profiles import Profiles, ServingProfile

log = logging.getLogger(__name__)
LLMPERF_ANCHORS = {7.0: "llama-2-7b-chat", 13.0: "llama-2-13b-chat", 70.0: "llama-2-70b-chat"}

# The edge model is not in the shared files: llama.cpp on 2 CPU cores.
EDGE_TPOT_MS = 1000.0 / 50.0  # ~50 tok/s measured by the team (llama.cpp, 2 cores)
EDGE_TTFT_MS = 150.0  # ASSUMPTION: ~100-token prompt prefilled at ~700 tok/s on 2 cores
EDGE_CPU_WATTS = 20.0  # ASSUMPTION: package power attributable to 2 busy cores


@dataclass(frozen=True)
class EnergyRef:
    """Median ML.ENERGY figures of one model on H100 over its configurations."""

    model: str
    task: str
    params_b: float
    j_per_token: float
    tpot_ms: float
    n_configs: int


@dataclass(frozen=True)
class LatencyRef:
    """Median llmperf figures of one hosted Llama-2 size over successful requests."""

    model: str
    ttft_ms: float
    itl_ms: float
    n_requests: int


def energy_refs(ml_energy_csv: Path) -> dict[tuple[str, str], EnergyRef]:
    """``{(task, model): EnergyRef}`` for every H100 model in ML.ENERGY."""
    df = pd.read_csv(ml_energy_csv)
    df = df[df["gpu"].str.startswith("H100") & df["params"].notna()]
    df = df.assign(jpt=df["energy_per_request_j"] / df["avg_output_tokens"])
    out = {}
    for (task, model), g in df.groupby(["task", "model"]):
        out[(str(task), str(model))] = EnergyRef(
            str(model),
            str(task),
            float(str(g["params"].iloc[0]).rstrip("B")),
            float(g["jpt"].median()),
            float(g["avg_tpot_s"].median() * 1000),
            len(g),
        )
    return out


def latency_refs(llmperf_csv: Path) -> dict[str, LatencyRef]:
    """``{llama-2-Xb-chat: LatencyRef}`` over successful requests (no error, ttft > 0).

    Only providers that served all three sizes successfully are pooled, so the sizes
    are compared on the same infrastructure (groq / perplexity / bedrock serve only some).
    """
    df = pd.read_csv(llmperf_csv)
    ok = df[df["error_code"].isna() & (df["ttft_s"] > 0) & (df["inter_token_latency_s"] > 0)]
    sizes = ok.groupby("provider")["model"].nunique()
    ok = ok[ok["provider"].isin(sizes[sizes == len(LLMPERF_ANCHORS)].index)]
    return {
        str(m): LatencyRef(
            str(m),
            float(g["ttft_s"].median() * 1000),
            float(g["inter_token_latency_s"].median() * 1000),
            len(g),
        )
        for m, g in ok.groupby("model")
    }


def _nearest(params_b: float, options: dict[float, str]) -> str:
    keys = np.array(list(options))
    return options[float(keys[np.argmin(np.abs(np.log(keys / params_b)))])]


def _energy_for(spec: ModelSpec, refs: dict[tuple[str, str], EnergyRef]) -> EnergyRef:
    if spec.energy_ref is not None:
        return refs[(spec.energy_task, spec.energy_ref)]
    assert spec.params_b is not None
    # dense models only: a mixture-of-experts model spends far less energy per parameter
    chat = {r.params_b: m for (t, m), r in refs.items() if t == "chat" and "Mixtral" not in m}
    return refs[("chat", _nearest(spec.params_b, chat))]


def _profile(
    spec: ModelSpec, e_refs: dict[tuple[str, str], EnergyRef], l_refs: dict[str, LatencyRef]
) -> ServingProfile:
    e = _energy_for(spec, e_refs)
    lat = l_refs[_nearest(spec.params_b or 70.0, LLMPERF_ANCHORS)]
    tpot = lat.itl_ms
    if spec.hosted_tier == "frontier":
        tpot *= e.tpot_ms / e_refs[("chat", LLAMA_70B)].tpot_ms
    source = (
        f"energy: ML.ENERGY H100 {e.task}, {e.model}, median of {e.n_configs} configs "
        f"(avg_tpot {e.tpot_ms:.1f} ms at batch>=64); latency: llmperf {lat.model}, "
        f"median of {lat.n_requests} successful requests on providers serving all sizes; "
        f"prices: {spec.price_source}"
    )
    if spec.hosted_tier:
        assumption, size = HOSTED_ASSUMPTION[spec.hosted_tier], f"hosted-{spec.hosted_tier}"
        if spec.hosted_tier == "frontier":
            assumption += " Decode time scaled by the ML.ENERGY 405B/70B avg_tpot ratio."
    else:
        size = f"{spec.params_b:g}B"
        match = "same family" if spec.energy_ref else "nearest measured size"
        assumption = (
            f"{size} model; energy from {e.model} ({e.params_b:g}B, {match}); "
            f"latency of a hosted {lat.model} endpoint (nearest Llama-2 size)"
        )
    return ServingProfile(
        lat.ttft_ms, tpot, e.j_per_token, spec.price_in, spec.price_out, source, assumption, size
    )


def _edge_profile() -> ServingProfile:
    return ServingProfile(
        EDGE_TTFT_MS,
        EDGE_TPOT_MS,
        EDGE_CPU_WATTS * EDGE_TPOT_MS / 1000,
        0.0,
        0.0,
        "team measurement: llama.cpp Q4_K_M on 2 CPU cores, ~50 tok/s",
        f"ASSUMPTION: TTFT {EDGE_TTFT_MS:g} ms (prefill ~700 tok/s); energy = "
        f"{EDGE_CPU_WATTS:g} W x tpot (no power meter on this machine); price 0 (local)",
        "0.27B-edge",
    )


def dcrouter_specs(candidates_json: Path) -> list[ModelSpec]:
    """ModelSpecs for the 9 DC-Router models, prices from ``llm_candidates.json``."""
    cands = json.loads(Path(candidates_json).read_text(encoding="utf-8"))
    src = "LLMRouter llm_candidates.json (NVIDIA NIM list prices)"
    return [
        ModelSpec(
            name,
            params,
            float(cands[name]["input_price"]),
            float(cands[name]["output_price"]),
            src,
            ref,
            task,
        )
        for name, (params, ref, task) in DCROUTER_MODELS.items()
    ]


def derive_profiles(shared: Path) -> Profiles:
    """The full table for every model in the shared data plus the edge model."""
    e_refs = energy_refs(shared / "profiles" / "ml_energy_llm_text_generation.csv")
    l_refs = latency_refs(shared / "profiles" / "llmperf_requests.csv")
    assert (("chat", LLAMA_405B) in e_refs) and (("chat", LLAMA_70B) in e_refs)
    specs = [s for s in STATIC_SPECS if s.name != EDGE_MODEL]
    specs += dcrouter_specs(shared / "llmrouter" / "llm_candidates.json")
    out = Profiles({s.name: _profile(s, e_refs, l_refs) for s in specs})
    out[EDGE_MODEL] = _edge_profile()
    log.info("derived %d serving profiles", len(out))
    return out


HEADER = """Serving profiles: per-model latency / energy / price. GENERATED, do not edit by hand:
  lmroute data profiles --write conf/profiles/default.yaml
Derived by data/profile_derive.py from ../shared/data/profiles:
  energy  = ML.ENERGY (ml-energy/benchmark) energy_per_request_j / avg_output_tokens,
            median over the H100 serving configurations of the reference model;
  latency = llmperf-leaderboard (ray-project) hosted Llama-2 7B/13B/70B endpoints,
            median TTFT and inter-token latency over successful requests.
latency_ms = ttft_ms + tpot_ms * completion_tokens; energy_j = j_per_token * completion_tokens.
Prices: USD per million tokens (price_source inside profile_source).
Each entry states its assumption; hosted APIs (gpt-*, claude-*) have NO public energy
figures: their numbers are assumptions, labelled as such."""
