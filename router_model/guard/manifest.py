"""The guard artifact's manifest (``manifest.json``, also in the ONNX metadata).

Thresholds are stored per category and operating point, with the rule that chose them
(``threshold_rule``: the false-positive rate and the validation sets it was measured on),
so a reader can tell what "balanced" means for this artifact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from router_model.manifest import METADATA_KEY

GUARD_FORMAT_VERSION = 1
KIND = "lmroute-guard"
__all__ = ["GUARD_FORMAT_VERSION", "KIND", "METADATA_KEY", "GuardManifest"]


@dataclass
class GuardManifest:
    """What a guard artifact is and how its thresholds were chosen.

    Attributes:
        categories: the classifier's outputs, in graph order.
        tags: the tagger's labels (``tags[0] == "O"``).
        thresholds: category (and ``"tag"``) -> operating point -> threshold.
        threshold_rule: operating point -> {target_fpr, sets, ...}; ``tag`` -> its rule.
        windows: {width, stride} in tokens.
        checks: registered check names, in the order they run.
        ngram: the character n-gram scorer (``ngram.onnx``: its sha256, hashing and
            blend weight per category), empty when the artifact has none.
    """

    categories: list[str]
    tags: list[str]
    thresholds: dict[str, dict[str, float]]
    threshold_rule: dict[str, Any]
    windows: dict[str, int]
    checks: list[str]
    tokenizer: dict[str, Any]
    featurizer: dict[str, Any]
    net: dict[str, Any]
    train_data_sha256: str
    data: dict[str, Any] = field(default_factory=dict)  # {val, test, split_seed}: the split
    metrics: dict[str, Any] = field(default_factory=dict)
    onnx_sha256: str = ""
    int8: dict[str, Any] = field(default_factory=dict)
    ngram: dict[str, Any] = field(default_factory=dict)
    created_utc: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    kind: str = KIND
    format_version: int = GUARD_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_jsonable)


def _jsonable(v: object) -> object:
    item = getattr(v, "item", None)
    return item() if callable(item) else str(v)
