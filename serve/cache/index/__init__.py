"""Vector indexes of the semantic tier: a small base, a registry, three kinds.

``exact`` (numpy inner products), ``hnsw`` (hnswlib), ``auto`` (exact while small, hnsw
past ``switch_at`` entries). ``make_index(kind, dim, **params)`` builds one.
"""

from serve.cache.index import auto, exact, hnsw  # noqa: F401  (registers the kinds)
from serve.cache.index.base import VectorIndex, make_index, register

__all__ = ["VectorIndex", "make_index", "register"]
