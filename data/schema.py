"""The canonical logged tuple: one outcome of sending one query to one model.

This is the contract between ``serve`` (writes logs), ``train`` and ``eval`` (read
them). Full-information benchmark data has one row per (request_id, model); a bandit
log (gateway traffic, simulated logs) has one row per request with the propensity
with which the logging policy chose that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

SOURCES: Final = ("benchmark", "gateway", "simulated", "synthetic")
MEASUREMENT_SOURCES: Final = ("measured", "profile")


@dataclass(frozen=True)
class Column:
    """One column of the logged tuple."""

    name: str
    type: pa.DataType
    nullable: bool
    meaning: str
    allowed: str


COLUMNS: Final[tuple[Column, ...]] = (
    Column("request_id", pa.string(), False, "id of the routed request", "non-empty string"),
    Column("timestamp", pa.timestamp("us", tz="UTC"), False, "when the request arrived (UTC)",
           "any UTC instant"),
    Column("query", pa.large_string(), False, "the routed text (or its hash, per privacy setting)",
           "non-empty string"),
    Column("task", pa.string(), True, "optional tag, e.g. a benchmark's eval name", "any / null"),
    Column("model", pa.string(), False, "the model that answered", "non-empty string"),
    Column("quality", pa.float64(), True, "graded quality of the answer",
           "[0, 1]; null = ungraded"),
    Column("cost_usd", pa.float64(), False, "price of the call in USD", ">= 0"),
    Column("latency_ms", pa.float64(), False, "end-to-end latency in ms", ">= 0"),
    Column("energy_j", pa.float64(), False, "energy of the call in joules", ">= 0"),
    Column("prompt_tokens", pa.int64(), False, "input tokens", ">= 0"),
    Column("completion_tokens", pa.int64(), False, "output tokens", ">= 0"),
    Column("propensity", pa.float64(), True,
           "probability the logging policy chose this model",
           "(0, 1]; null for full-information benchmark rows"),
    Column("logging_policy", pa.string(), True, "name of the policy that chose the model",
           "any / null"),
    Column("source", pa.string(), False, "where the row comes from", " / ".join(SOURCES)),
    Column("latency_source", pa.string(), False, "how latency_ms was obtained",
           " / ".join(MEASUREMENT_SOURCES)),
    Column("energy_source", pa.string(), False, "how energy_j was obtained",
           " / ".join(MEASUREMENT_SOURCES)),
    Column("meta", pa.large_string(), True, "free-form JSON object (errors, headers, ...)",
           "JSON object text / null"),
)

COLUMN_NAMES: Final[tuple[str, ...]] = tuple(c.name for c in COLUMNS)
SCHEMA: Final[pa.Schema] = pa.schema(
    [pa.field(c.name, c.type, nullable=c.nullable) for c in COLUMNS]
)
KEY: Final[tuple[str, str]] = ("request_id", "model")

# The gateway's ``logging_policy`` vocabulary (written by serve/stages/log.py, read by the
# training sources): the router's policy name (e.g. "lmroute-router") for a routed request
# its routed model answered; that name + FALLBACK_SUFFIX when another model or backend
# answered; EXPLICIT when the client named a concrete model; REJECTED when the request was
# refused before any routing decision; LOCAL_PREFIX + marker when a stage answered without
# a backend (a cache hit: "local/cache"). Only the first kind is a routing decision the
# next router can learn from (``learnable_policy``).
POLICY_EXPLICIT: Final = "explicit"
POLICY_REJECTED: Final = "rejected"
FALLBACK_SUFFIX: Final = "/fallback"
LOCAL_PREFIX: Final = "local/"


def learnable_policy(policy: str | None) -> bool:
    """Was this row a decision of the router itself (the kind off-policy learning uses)?"""
    if not policy or policy in (POLICY_EXPLICIT, POLICY_REJECTED):
        return False
    return not policy.endswith(FALLBACK_SUFFIX) and not policy.startswith(LOCAL_PREFIX)
