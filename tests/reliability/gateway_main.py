"""A gateway process for the reliability tests: ``python -m tests.reliability.gateway_main
CONFIG.json``. The same server as ``lmroute serve`` (``serve.cli.run_server``: uvloop,
httptools, the app factory, the lifespan) built from a JSON settings dict; with
``"stub_router": true`` the router is ``tests.serve.fakes.StubRouter`` (deterministic
choices, so a chaos test knows which backend is tried first; its record of calls bounded,
as nobody reads it in this process and a soak routes millions), else ``settings.router``
(a real artifact, or none)."""

from __future__ import annotations

import json
import logging
import sys
from collections import deque
from pathlib import Path

from serve.cli import run_server
from serve.settings import settings_from_dict


def main(argv: list[str]) -> int:
    raw = json.loads(Path(argv[0]).read_text())
    stub = raw.pop("stub_router", None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    router = None
    if stub:
        from tests.serve.fakes import StubRouter

        router = StubRouter(stub["quality"], stub["cost"])
        router.calls = deque(maxlen=100)  # type: ignore[assignment]
    run_server(settings_from_dict(raw), router)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
