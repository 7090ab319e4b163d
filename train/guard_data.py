"""The guard's corpus: every labelled text, its source, and its train / val / test split.

Sources (``source`` names are what the reports group by):

- ``deepset``: deepset/prompt-injections train split; label 1 -> injection, 0 -> benign.
  Near-duplicates (texts sharing a 5-word shingle, e.g. one injection appended to
  several questions) form one group.
- ``jbb_gcg``, ``jbb_jbc``, ``jbb_random_search``: JailbreakBench attack prompts ->
  injection (jailbreak) and harmful; ``jbb_goals``: the plain goals -> harmful only.
  All JailbreakBench texts of one behaviour (goal index) are one group, so a held-out
  goal is unseen in every wrapper.
- ``routerbench``, ``routellm``, ``dcrouter``: benign traffic (one group per request).
- ``hard_benign``: the written trigger-word negatives (one group per template).
- ``written_injection`` / ``written_harmful``: the written attacks (group per phrase).
- ``presidio``: Presidio synthetic PII sentences (benign for the classifier; PII spans
  for the tagger), one group per template.

Labels are 1 / 0, or -1 where unknown (a deepset injection may or may not be harmful);
unknown labels are left out of that category's loss and metrics. A group's split is a
seeded hash of (family, group): family ``jbb`` is shared by the JailbreakBench sources.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from router_model.guard.spans import Span
from train import guard_written_attacks as wa
from train.guard_written_benign import expand
from train.guard_written_benign_more import ALL_TEMPLATES
from train.guard_written_everyday import EVERYDAY

log = logging.getLogger(__name__)
CATEGORIES = ("injection", "harmful")
SPLITS = ("train", "val", "test")
JBB_ATTACKS = {"GCG": "jbb_gcg", "JBC": "jbb_jbc", "prompt_with_random_search": "jbb_random_search"}
BENIGN_TRAFFIC = ("routerbench", "routellm", "dcrouter")


@dataclass(frozen=True)
class Example:
    """One labelled text.

    Attributes:
        labels: per ``CATEGORIES`` entry 1, 0 or -1 (unknown).
        spans: gold PII spans (Presidio only; empty elsewhere, which means unlabelled,
            not "no PII", outside ``presidio``).
    """

    text: str
    source: str
    labels: tuple[int, ...]
    group: str
    family: str = ""
    spans: tuple[Span, ...] = field(default_factory=tuple)
    split: str = ""


def assign_split(family: str, group: str, val: float, test: float, seed: int) -> str:
    """Seeded hash of the group -> "train" / "val" / "test"."""
    h = hashlib.sha256(f"{seed}:{family}:{group}".encode()).digest()
    u = int.from_bytes(h[:8], "big") / 2**64
    return "test" if u < test else "val" if u < test + val else "train"


def _shingle_groups(texts: list[str], k: int = 5) -> list[int]:
    """Union-find over texts sharing any k-word shingle -> group id per text."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, ...], int] = {}
    for i, t in enumerate(texts):
        words = t.lower().split()
        for j in range(max(len(words) - k + 1, 1)):
            key = tuple(words[j:j + k])
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    return [find(i) for i in range(len(texts))]


def deepset(root: Path) -> Iterator[Example]:
    df = pd.read_parquet(root / "guardrails/prompt_injection/deepset_train.parquet")
    df = df.drop_duplicates("text").reset_index(drop=True)
    groups = _shingle_groups(df["text"].tolist())
    for (text, label), g in zip(df[["text", "label"]].itertuples(index=False), groups,
                                strict=True):
        labels = (1, -1) if int(label) == 1 else (0, 0)
        yield Example(str(text), "deepset", labels, str(g), "deepset")


def jailbreakbench(root: Path) -> Iterator[Example]:
    base = root / "guardrails/jailbreakbench"
    goals: dict[int, str] = {}
    for attack, source in JBB_ATTACKS.items():
        for path in sorted((base / attack).rglob("*.json")):
            for item in json.loads(path.read_text())["jailbreaks"]:
                goals[int(item["index"])] = item["goal"]
                if item.get("prompt"):
                    yield Example(item["prompt"], source, (1, 1), str(item["index"]), "jbb")
    for idx, goal in sorted(goals.items()):
        yield Example(goal, "jbb_goals", (0, 1), str(idx), "jbb")


def benign_traffic(root: Path) -> Iterator[Example]:
    from data.convert import convert

    for fmt, folder, source in (("routerbench", "routerbench", "routerbench"),
                                ("routellm", "routellm", "routellm"),
                                ("llmrouter", "llmrouter", "dcrouter")):
        frame = convert(fmt, [root / folder]).frame.drop_duplicates("request_id")
        for rid, q in frame[["request_id", "query"]].itertuples(index=False):
            yield Example(str(q), source, (0, 0), str(rid), source)


def presidio(root: Path) -> Iterator[Example]:
    items = json.loads((root / "guardrails/pii/presidio_synth_dataset_v2.json").read_text())
    for it in items:
        spans = tuple(Span(s["entity_type"], int(s["start_position"]), int(s["end_position"]))
                      for s in it["spans"])
        yield Example(it["full_text"], "presidio", (0, 0), str(it["template_id"]), "presidio",
                      spans)


def written() -> Iterator[Example]:
    for i, t in enumerate((*ALL_TEMPLATES, *EVERYDAY)):
        for text in expand(t):
            yield Example(text, "hard_benign", (0, 0), f"{t.kind}:{i}", "hard_benign")
    for i, phrase in enumerate(wa.OVERRIDES):
        for j, carrier in enumerate(wa.CARRIERS):
            payload = wa.PAYLOADS[(i + j) % len(wa.PAYLOADS)]
            text = f"{carrier} {phrase.format(p=payload)}".strip()
            yield Example(text, "written_injection", (1, -1), str(i), "written_injection")
    for i, (_, goal) in enumerate(wa.HARMFUL):
        for frame in wa.HARMFUL_FRAMES:
            yield Example(frame.format(g=goal), "written_harmful", (0, 1), str(i),
                          "written_harmful")


def load_corpus(root: Path, val: float = 0.15, test: float = 0.15,
                seed: int = 0) -> list[Example]:
    """Every source, split by group (see module docstring)."""
    if not (root / "guardrails").is_dir():
        raise FileNotFoundError(f"data.root: {root / 'guardrails'} not found (the shared data)")
    out = []
    for gen in (deepset(root), jailbreakbench(root), benign_traffic(root), presidio(root),
                written()):
        for ex in gen:
            split = assign_split(ex.family, ex.group, val, test, seed)
            out.append(Example(ex.text, ex.source, ex.labels, ex.group, ex.family, ex.spans,
                               split))
    log.info("guard corpus: %d texts", len(out))
    return out


def summary(corpus: list[Example]) -> pd.DataFrame:
    """Counts per source x split (and positives per category)."""
    df = pd.DataFrame([{"source": e.source, "split": e.split,
                        **{c: int(v == 1) for c, v in zip(CATEGORIES, e.labels, strict=True)}}
                       for e in corpus])
    return df.pivot_table(index="source", columns="split", values="injection",
                          aggfunc="count", fill_value=0)
