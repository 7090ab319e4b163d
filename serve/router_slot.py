"""The router the gateway serves with, and its atomic hot swap.

``RouterSlot`` holds (router, artifact id) as one tuple, replaced in a single assignment:
a request reads both at admission (``Admit`` -> ``ctx.router``, ``ctx.artifact``) and keeps
them to the end, so in-flight requests finish on the router that admitted them and every
log row names the artifact that decided it (``meta.artifact`` = the manifest's
``onnx_sha256``).

``load_checked`` loads and verifies a new artifact (``Router.load``: the graph's hash,
the embedded manifest, the tokenizer's hash), checks that it routes over the same models as
the current one (unless allowed), warms it up with one decision, and only then swaps.
Any error leaves the old router serving; the error is returned, never raised to clients.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serve.services import RouterLike

log = logging.getLogger(__name__)


class SwapError(ValueError):
    """A new artifact was refused (the old one keeps serving); the message says why."""


def artifact_id(router: RouterLike | None) -> str:
    """The artifact's identity: its manifest's ``onnx_sha256`` ("" when unknown)."""
    if router is None:
        return ""
    sha = (router.manifest or {}).get("onnx_sha256")
    return sha if isinstance(sha, str) else ""


def load_router(path: str | None) -> RouterLike | None:
    """Load the router artifact; None (logged) when no path is configured or it is absent."""
    if not path:
        log.warning("no router configured: lmroute/* requests go to the fallback backend")
        return None
    if not Path(path).is_dir():
        log.warning("router artifact %s not found: lmroute/* requests go to the fallback "
                    "backend (train one with `lmroute train`, or set router=DIR)", path)
        return None
    from router_model.runtime import Router  # lazy: onnxruntime + tokenizers

    router: RouterLike = Router.load(path)
    log.info("router loaded from %s: %d models", path, len(router.models))
    return router


@dataclass(frozen=True)
class SlotState:
    router: RouterLike | None
    artifact: str
    path: str
    loaded_at: float


class RouterSlot:
    """The current router; ``current()`` and ``swap`` are atomic (one reference)."""

    def __init__(self, router: RouterLike | None, path: str = "") -> None:
        self._state = SlotState(router, artifact_id(router), path if router else "", time.time())
        self.swaps = 0

    @property
    def router(self) -> RouterLike | None:
        return self._state.router

    def current(self) -> tuple[RouterLike | None, str]:
        s = self._state
        return s.router, s.artifact

    def describe(self) -> dict[str, Any]:
        s = self._state
        return {"artifact": s.artifact or None, "path": s.path or None,
                "models": list(s.router.models) if s.router is not None else [],
                "loaded_at": s.loaded_at, "swaps": self.swaps}

    def check(self, new: RouterLike, allow_model_change: bool) -> None:
        """Raise ``SwapError`` unless ``new`` may replace the current router."""
        old = self._state.router
        if old is not None and list(new.models) != list(old.models) and not allow_model_change:
            raise SwapError(f"the new artifact routes over {list(new.models)}, the current one "
                            f"over {list(old.models)}: refused (admin.allow_model_change "
                            "or the request's allow_model_change: true to accept)")
        new.route("warm-up", None, list(new.models))  # fails here, not on a client request

    def swap(self, new: RouterLike, path: str) -> SlotState:
        """Replace the router (one assignment); returns the previous state."""
        old = self._state
        self._state = SlotState(new, artifact_id(new), path, time.time())
        self.swaps += 1
        log.info("router hot-swapped: %s -> %s (%s)", old.artifact[:12] or "-",
                 self._state.artifact[:12] or "-", path)
        return old


def load_checked(path: str, slot: RouterSlot, allow_model_change: bool) -> RouterLike:
    """Load and verify the artifact at ``path`` for ``slot`` (blocking: run it in a thread)."""
    from router_model.artifact import ArtifactError

    if not Path(path).is_dir():
        raise SwapError(f"{path}: not a directory (expected a router artifact directory)")
    try:
        new = load_router(path)
    except (ArtifactError, OSError, ValueError) as exc:
        raise SwapError(f"{path}: {exc}") from exc
    assert new is not None
    slot.check(new, allow_model_change)
    return new
