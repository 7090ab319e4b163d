"""The memory's errors: each carries the HTTP status a gateway endpoint answers with
(the CLI exits 2 on any of them)."""

from __future__ import annotations


class MemoryError_(Exception):
    """Base class; ``status`` is the HTTP status for an endpoint."""

    status = 400


class InvalidInput(MemoryError_):
    """A field has an unusable value (the message names it)."""


class NotFound(MemoryError_):
    """No such session, message or version for this API key."""

    status = 404


class Conflict(MemoryError_):
    """The state changed underneath (e.g. a compaction whose sources were erased)."""

    status = 409
