"""The artifact manifest (``manifest.json``, also ONNX metadata "lmroute_manifest")."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

FORMAT_VERSION = 1
METADATA_KEY = "lmroute_manifest"


@dataclass
class Profile:
    """Serving profile of one model (latency / energy / price model)."""

    ttft_ms: float = 0.0
    tpot_ms: float = 0.0
    j_per_token: float = 0.0
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0


@dataclass
class Manifest:
    """What a router artifact is, and how it was made (see docs/contracts.md)."""

    models: list[str]
    tokenizer: dict[str, Any]  # {sha256, max_tokens, truncation}
    featurizer: dict[str, Any]  # {kind, dim, sha256}
    policy: dict[str, Any]  # {name, params}
    train_data_sha256: str
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    onnx_sha256: str = ""
    int8: dict[str, Any] = field(default_factory=dict)  # {onnx_sha256, agreement, ...}
    created_utc: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_jsonable)


def graph_sha256(model: Any) -> str:
    """SHA-256 of an ``onnx.ModelProto``'s serialized graph (independent of
    metadata_props, so the manifest can live inside the file it describes). Here, not in
    ``export``, so loading an artifact never imports torch."""
    return hashlib.sha256(model.graph.SerializeToString()).hexdigest()


def _jsonable(v: object) -> object:
    """numpy scalars / paths in metrics -> plain JSON values."""
    item = getattr(v, "item", None)
    return item() if callable(item) else str(v)
