"""TTL expiry: a background sweeper that erases what has expired (whole sessions and
single messages) through the same erasure path as a request, with actor ``system:ttl``,
so an expiry gets the same recompute, tombstones, verification scan and receipt."""

from __future__ import annotations

import logging
import threading
import time

from serve.memory.erasure import Eraser
from serve.memory.errors import NotFound
from serve.memory.types import ErasureReceipt

log = logging.getLogger(__name__)
ACTOR = "system:ttl"


def sweep(eraser: Eraser, now: float | None = None) -> list[ErasureReceipt]:
    """Erase everything expired at ``now`` (default: the current time)."""
    now = time.time() if now is None else now
    out = []
    for e in eraser.store.expired(now):
        try:
            out.append(eraser.erase(e.owner, e.session_id, e.message_ids, ACTOR,
                                    "ttl expired", scope="ttl"))
        except NotFound:
            continue  # erased meanwhile
        log.info("ttl: erased %s of a session (%d message(s))",
                 "all" if e.message_ids is None else "part", len(out[-1].erased_ids))
    return out


class Sweeper:
    """Calls ``sweep`` every ``interval_s`` on a daemon thread."""

    def __init__(self, eraser: Eraser, interval_s: float = 5.0) -> None:
        self.eraser = eraser
        self.interval_s = interval_s
        self.receipts: list[ErasureReceipt] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-ttl", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.receipts = (self.receipts + sweep(self.eraser))[-100:]
            except Exception:
                log.exception("ttl sweep failed")

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
