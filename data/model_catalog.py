"""Every model that appears in the shared data (plus the local edge model), with the
facts that are NOT in the profile files: parameter count, published prices, and which
measured model stands in for its latency/energy.

Prices are USD per million tokens as published by the serving provider at the time the
benchmark was run (RouterBench, Nov 2023 - Jan 2024; RouteLLM, 2024). For RouterBench
they are confirmed by the data: a least-squares fit of each model's ``|total_cost``
column on (prompt, completion) token counts recovers them within ~10% (see
``tests/data/test_profiles.py``). DC-Router prices come from ``llm_candidates.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LLAMA_405B: Final = "meta-llama/Meta-Llama-3.1-405B-Instruct"
LLAMA_70B: Final = "meta-llama/Meta-Llama-3.1-70B-Instruct"
EDGE_MODEL: Final = "gemma-3-270m-q4_k_m"


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about one routable model.

    Attributes:
        name: the model name as it appears in the logs.
        params_b: total parameters in billions; None when undisclosed (hosted APIs).
        price_in / price_out: USD per million input / output tokens.
        price_source: where the prices come from.
        energy_ref: ML.ENERGY model used for energy/decode speed; None = the measured
            H100 chat model of the nearest size (log-distance on parameters).
        energy_task: ML.ENERGY task of the reference ("chat" or "code").
        hosted_tier: "" for open models; "mid" / "frontier" for undisclosed hosted APIs.
    """

    name: str
    params_b: float | None
    price_in: float
    price_out: float
    price_source: str
    energy_ref: str | None = None
    energy_task: str = "chat"
    hosted_tier: str = ""


_OPENAI = "OpenAI API pricing, Nov 2023 (as used by RouterBench, arXiv 2403.12031)"
_ANTHROPIC = "Anthropic API pricing, Nov 2023 (as used by RouterBench)"
_TOGETHER = "Together AI serverless pricing, Dec 2023 (as used by RouterBench)"
_MIXTRAL_ROUTELLM = "Together AI pricing for Mixtral-8x7B-Instruct, 2024"

STATIC_SPECS: Final[tuple[ModelSpec, ...]] = (
    # --- RouterBench (11) ---
    ModelSpec("gpt-4-1106-preview", None, 10.0, 30.0, _OPENAI, LLAMA_405B, hosted_tier="frontier"),
    ModelSpec("gpt-3.5-turbo-1106", None, 1.0, 2.0, _OPENAI, LLAMA_70B, hosted_tier="mid"),
    ModelSpec("claude-v2", None, 8.0, 24.0, _ANTHROPIC, LLAMA_405B, hosted_tier="frontier"),
    ModelSpec("claude-v1", None, 8.0, 24.0, _ANTHROPIC, LLAMA_405B, hosted_tier="frontier"),
    ModelSpec("claude-instant-v1", None, 0.8, 2.4, _ANTHROPIC, LLAMA_70B, hosted_tier="mid"),
    ModelSpec("meta/llama-2-70b-chat", 70, 0.9, 0.9, _TOGETHER, LLAMA_70B),
    ModelSpec(
        "mistralai/mixtral-8x7b-chat",
        47,
        0.6,
        0.6,
        _TOGETHER,
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
    ),
    ModelSpec("zero-one-ai/Yi-34B-Chat", 34, 0.8, 0.8, _TOGETHER),
    ModelSpec(
        "meta/code-llama-instruct-34b-chat",
        34,
        0.776,
        0.776,
        _TOGETHER,
        "codellama/CodeLlama-34b-hf",
        "code",
    ),
    ModelSpec("WizardLM/WizardLM-13B-V1.2", 13, 0.3, 0.3, _TOGETHER),
    ModelSpec(
        "mistralai/mistral-7b-chat", 7, 0.2, 0.2, _TOGETHER, "mistralai/Mistral-7B-Instruct-v0.3"
    ),
    # --- RouteLLM (2; gpt-4-1106-preview above) ---
    ModelSpec(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        47,
        0.6,
        0.6,
        _MIXTRAL_ROUTELLM,
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
    ),
    # --- the local edge model: llama.cpp on 2 CPU cores (not a GPU profile) ---
    ModelSpec(EDGE_MODEL, 0.27, 0.0, 0.0, "local model: no per-token price"),
)

# DC-Router model -> (params_b, ML.ENERGY reference or None, task); prices from
# llm_candidates.json at derivation time.
DCROUTER_MODELS: Final[dict[str, tuple[float, str | None, str]]] = {
    "qwen2.5-7b-instruct": (7, None, "chat"),
    "codegemma-7b": (7, "google/codegemma-7b", "code"),
    "gemma-2-9b-it": (9, "google/gemma-2-9b-it", "chat"),
    "llama-3.1-8b-instruct": (8, "meta-llama/Meta-Llama-3.1-8B-Instruct", "chat"),
    "llama3-chatqa-1.5-8b": (8, "meta-llama/Meta-Llama-3.1-8B-Instruct", "chat"),
    "mistral-7b-instruct-v0.3": (7, "mistralai/Mistral-7B-Instruct-v0.3", "chat"),
    "llama-3.3-nemotron-super-49b-v1": (49, None, "chat"),
    "llama-3.1-nemotron-51b-instruct": (51, None, "chat"),
    "llama3-chatqa-1.5-70b": (70, LLAMA_70B, "chat"),
}

HOSTED_ASSUMPTION: Final[dict[str, str]] = {
    "frontier": (
        "ASSUMPTION: size and serving hardware undisclosed; energy per token and decode "
        "speed taken from the largest measured dense model (Llama-3.1-405B on H100); "
        "TTFT from hosted Llama-2-70B endpoints (llmperf). No public energy figure exists."
    ),
    "mid": (
        "ASSUMPTION: size undisclosed; treated as a 70B-class model (Llama-3.1-70B energy on "
        "H100, hosted Llama-2-70B latency from llmperf). No public energy figure exists."
    ),
}
