"""Entry stores: ``memory`` (this process) and ``redis`` (shared by several replicas)."""

from serve.cache.store import memory  # noqa: F401  (registers the kind)
from serve.cache.store.base import EntryStore, IndexEvent, StoreLimits, make_store, register

__all__ = ["EntryStore", "IndexEvent", "StoreLimits", "make_store", "register"]
