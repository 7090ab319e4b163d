"""Load-adjusted routing: the graph's decision recomputed with extra expected latency.

The gateway knows what the router cannot: a vLLM backend's live queue (serve/load_signal.py).
It passes it to ``Router.route`` as ``latency_offset_ms`` (M,), extra milliseconds per model;
this module adds them to the predicted ``latency_ms`` and recomputes the utility and the
greedy choice with ``router_model.reward.decision_utility``, the one decision rule the graph's
``DecisionHead`` also runs (mask, limits, and the fallback: every allowed model over a limit
-> limits dropped).

Arithmetic stays in float32, as in the graph, so zero offsets would reproduce its utilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_model.reward import RewardWeights, decision_utility


@dataclass(frozen=True)
class Adjusted:
    """The load-adjusted greedy decision for one request.

    Attributes:
        greedy: index of the argmax model (limits dropped when ``fallback``).
        utility: (M,) utilities as the graph would report them (NEG_INF = excluded).
        fallback: no allowed model meets the limits once the offsets are added.
    """

    greedy: int
    utility: list[float]
    fallback: bool


def load_adjusted(quality: np.ndarray, cost_usd: np.ndarray, latency_ms: np.ndarray,
                  energy_j: np.ndarray, offsets: np.ndarray, w: RewardWeights,
                  mask: np.ndarray) -> Adjusted:
    """Greedy choice and utilities for one request with ``latency_ms + offsets``.

    Args:
        quality, cost_usd, latency_ms, energy_j: (1, M) predicted outcomes (graph outputs).
        offsets: (M,) extra expected latency per model, ms, finite and >= 0.
        w: the request's weights and limits.
        mask: (1, M) bool, True = allowed (at least one).
    """
    lat = latency_ms + offsets.astype(latency_ms.dtype, copy=False)
    u, fallback = decision_utility(quality, cost_usd, lat, energy_j, w.columns(), mask)
    return Adjusted(int(np.argmax(u[0])), np.asarray(u)[0].tolist(), bool(fallback[0, 0]))
