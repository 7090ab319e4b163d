"""Prometheus metrics of one gateway instance (its own registry: no module globals).

All request-level series are labelled by ``model`` (the model that answered, or the
routed one when nothing answered) and, where it applies, ``backend``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DECISION_BUCKETS = (1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2)


class GatewayMetrics:
    """Counters and histograms exposed on ``GET /metrics``."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[Any, ...], Any] = {}
        self.requests = Counter("lmroute_requests", "Chat completion requests",
                                ["model", "backend", "status"], registry=r)
        self.errors = Counter("lmroute_errors", "Failed requests and backend call failures",
                              ["model", "backend", "kind"], registry=r)
        self.fallbacks = Counter("lmroute_fallbacks", "Requests answered by another model "
                                 "or backend than the routed one", ["from_model", "to_model"],
                                 registry=r)
        self.decision = Histogram("lmroute_decision_seconds", "Router decision time",
                                  ["profile"], buckets=DECISION_BUCKETS, registry=r)
        self.backend_latency = Histogram("lmroute_backend_latency_seconds",
                                         "Backend call latency (complete response)",
                                         ["model", "backend"], buckets=LATENCY_BUCKETS,
                                         registry=r)
        self.ttft = Histogram("lmroute_ttft_seconds", "Time to first token (streaming)",
                              ["model", "backend"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens = Counter("lmroute_tokens", "Tokens", ["model", "kind"], registry=r)
        self.cost = Counter("lmroute_cost_usd", "Cost in USD from the price table", ["model"],
                            registry=r)
        self.energy = Counter("lmroute_energy_joules", "Energy in J from the backend profile",
                              ["model"], registry=r)
        self.log_dropped = Counter("lmroute_log_rows_dropped",
                                   "Decision-log rows dropped (buffer full)", registry=r)
        self.unauthenticated_unlogged = Counter(
            "lmroute_unauthenticated_unlogged", "Requests refused for their API key (401) "
            "beyond log.max_unauthenticated_per_s, counted here instead of logged", registry=r)

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: ``labels`` takes a lock and builds a tuple
        key per call, and the request path asks for ~8 children per request."""
        key = (id(metric), *labels)
        c = self._children.get(key)
        if c is None:
            c = self._children[key] = metric.labels(*labels)
        return c

    def render(self) -> bytes:
        return generate_latest(self.registry)
