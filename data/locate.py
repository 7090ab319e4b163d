"""Find the public data folder.

Lookup order (the first that holds the required sub-folder wins):

1. ``$LMROUTE_SHARED_DATA`` (when set);
2. ``<repo>/../shared/data`` (the team's shared copy);
3. the copy ``lmroute data fetch`` downloads into the user's cache directory
   (``$XDG_CACHE_HOME/lmroute/data``, default ``~/.cache/lmroute/data``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "LMROUTE_SHARED_DATA"
REPO_ROOT = Path(__file__).resolve().parents[1]
FETCH_COMMAND = "lmroute data fetch"

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
    """No data folder found; the message says where it looked and what to do."""


@dataclass(frozen=True)
class Candidate:
    """One place the data may be: ``label`` says which rule it comes from."""

    label: str
    path: Path


def cache_location() -> Path:
    """Where ``lmroute data fetch`` writes by default (XDG cache dir)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lmroute" / "data"


def sibling_location() -> Path:
    """``<repo>/../shared/data``."""
    return REPO_ROOT.parent / "shared" / "data"


def candidates() -> list[Candidate]:
    """The places looked at, in order."""
    out = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Candidate(f"${ENV_VAR}", Path(env)))
    out.append(Candidate("../shared/data", sibling_location()))
    out.append(Candidate(f"fetched copy ({FETCH_COMMAND})", cache_location()))
    return out


def find_data(required: str = "routerbench") -> Candidate | None:
    """The first candidate holding the sub-folder ``required``, or None."""
    for cand in candidates():
        if (cand.path / required).is_dir():
            return cand
    return None


def data_dir(required: str = "routerbench") -> str:
    """The data folder holding ``required`` by the lookup order, or ``../shared/data`` when
    none does (so the error that follows names that path). Config files call it as
    ``${lmroute_data:routerbench}`` (see ``register_resolver``)."""
    found = find_data(required)
    return str(found.path if found is not None else sibling_location())


def register_resolver() -> None:
    """``${lmroute_data:SUB}`` in conf/*.yaml: the data folder that holds ``SUB/``."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("lmroute_data"):
        OmegaConf.register_new_resolver("lmroute_data", data_dir)


def find_shared_data(required: str = "routerbench") -> Path:
    """Return the data directory, or raise ``SharedDataMissing``.

    Args:
        required: a sub-folder that must exist (e.g. ``"routerbench"``, ``"profiles"``).
    """
    found = find_data(required)
    if found is not None:
        return found.path
    tried = "\n".join(f"  {c.path / required}  [{c.label}]" for c in candidates())
    listing = "\n".join(f"  <data>/{f}" for f in EXPECTED_FILES)
    raise SharedDataMissing(
        f"data not found: no {required}/ folder in any of\n{tried}\n"
        f"Run `{FETCH_COMMAND}` to download the public files into the cache, "
        f"or set ${ENV_VAR} to a folder laid out as:\n{listing}\n"
        "Origins: RouterBench (withmartian/routerbench, zero-shot split via RouterDC), "
        "RouteLLM evals (lm-sys/RouteLLM), DC-Router (ulab-uiuc/LLMRouter), "
        "ML.ENERGY (ml-energy/benchmark), llmperf-leaderboard (ray-project); "
        "data/fetch_manifest.json lists every file with its pinned URL and SHA-256."
    )
