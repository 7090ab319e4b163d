"""The suite's three datasets as full-information views, read in place from shared data.

- ``routerbench``: RouterBench zero-shot subset (11 models; task = eval_name); quality
  0/1, cost = RouterBench's own per-query cost; reference model gpt-4-1106-preview.
- ``routellm``: RouteLLM MMLU (task mmlu_<subject>) + GSM8K (task gsm8k), strong
  gpt-4-1106-preview vs weak Mixtral; RouteLLM's contaminated prompts excluded; cost from
  published token prices. Figures are reported per benchmark (``groups``).
- ``dcrouter``: DC-Router (9 open models, task = cluster_id), quality = score in [0, 1],
  cost = tokens x the prices of ``llm_candidates.json`` (through the serving profiles).

Requests with a missing outcome are dropped (and counted); latency and energy are not
part of the suite's figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data.matrix import FullInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    """How to read one dataset: converter format, folder, reference model, groups.

    ``groups``: name -> task prefix; figures are also computed on each group's requests
    (RouteLLM: ``mmlu`` and ``gsm8k``).
    """

    name: str
    fmt: str
    folder: str
    reference: str
    groups: dict[str, str] = field(default_factory=dict)


SPECS: dict[str, DatasetSpec] = {
    "routerbench": DatasetSpec("routerbench", "routerbench", "routerbench",
                               "gpt-4-1106-preview"),
    "routellm": DatasetSpec("routellm", "routellm", "routellm", "gpt-4-1106-preview",
                            {"mmlu": "mmlu_", "gsm8k": "gsm8k"}),
    "dcrouter": DatasetSpec("dcrouter", "llmrouter", "llmrouter",
                            "llama-3.1-nemotron-51b-instruct"),
}


@dataclass
class SuiteData:
    """One dataset: the complete full-information view and what was dropped."""

    spec: DatasetSpec
    full: FullInfo
    n_dropped: int

    def group_rows(self, group: str) -> np.ndarray:
        """(k,) indices of the requests whose task starts with the group's prefix."""
        prefix = self.spec.groups[group]
        return np.flatnonzero(np.char.startswith(self.full.tasks.astype(str), prefix))


def load_dataset(name: str, shared: Path, max_requests: int | None = None,
                 seed: int = 0) -> SuiteData:
    """Read ``name`` from the shared data folder (``max_requests``: a stratified sample)."""
    from data.convert import convert
    from eval.replay import drop_incomplete

    if name not in SPECS:
        raise ValueError(f"datasets: unknown dataset {name!r}; known: {sorted(SPECS)}")
    spec = SPECS[name]
    folder = shared / spec.folder
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: missing (the shared data folder has no {name})")
    full, n_drop = drop_incomplete(FullInfo.from_frame(convert(spec.fmt, [folder]).frame))
    if max_requests is not None and len(full) > max_requests:
        full = full.subset(stratified_sample(full.tasks, max_requests, seed))
    log.info("%s: %d requests x %d models (%d incomplete dropped)", name, len(full),
             len(full.models), n_drop)
    return SuiteData(spec, full, n_drop)


def stratified_sample(tasks: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Sorted indices of about ``k`` rows, the same share of every task."""
    rng = np.random.default_rng(seed)
    frac = k / len(tasks)
    keep = []
    for t in np.unique(tasks.astype(str)):
        idx = rng.permutation(np.flatnonzero(tasks.astype(str) == t))
        keep.append(idx[: max(1, round(len(idx) * frac))])
    return np.sort(np.concatenate(keep))
