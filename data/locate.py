"""Find the shared real data (``../shared/data`` or ``$LMROUTE_SHARED_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "LMROUTE_SHARED_DATA"
REPO_ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FILES: tuple[str, ...] = (
    "routerbench/arc_challenge_train.csv",
    "routerbench/winograde_train.csv",
    "routerbench/mbpp_train.csv",
    "routellm/mmlu/mmlu_<subject>.csv",
    "routellm/gsm8k/gsm8k_responses.csv",
    "routellm/mmlu_contaminated_prompts.jsonl",
    "routellm/gsm8k_contaminated_prompts.jsonl",
    "llmrouter/dcrouter_train.json",
    "llmrouter/llm_candidates.json",
    "profiles/ml_energy_llm_text_generation.csv",
    "profiles/llmperf_requests.csv",
)


class SharedDataMissing(FileNotFoundError):
    """The shared data folder is absent; the message says where to put which files."""


def default_location() -> Path:
    """``$LMROUTE_SHARED_DATA`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def find_shared_data(required: str = "routerbench") -> Path:
    """Return the shared data directory, or raise ``SharedDataMissing``.

    Args:
        required: a sub-folder that must exist (e.g. ``"routerbench"``, ``"profiles"``).
    """
    root = default_location()
    if (root / required).is_dir():
        return root
    listing = "\n".join(f"  {root / f}" for f in EXPECTED_FILES)
    raise SharedDataMissing(
        f"shared data not found: {root / required} does not exist.\n"
        f"Set ${ENV_VAR} to the folder holding the public files, or place them at:\n{listing}\n"
        "Origins: RouterBench (withmartian/routerbench, zero-shot split via RouterDC), "
        "RouteLLM evals (lm-sys/RouteLLM), DC-Router (ulab-uiuc/LLMRouter), "
        "ML.ENERGY (ml-energy/benchmark), llmperf-leaderboard (ray-project)."
    )
