"""The fake OpenAI-compatible backend (``tests.serve.fakes.fake_backend_app``) as its own
process, for the soak: ``python -m tests.reliability.fake_main PORT BEHAVIOURS.json``, where
the JSON maps an upstream model name to ``ModelBehaviour`` fields (delays, token counts).
Out of the load generator's process, so the clients' threads and the backend do not share
one interpreter lock. The record of calls is bounded (a soak sends millions)."""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path

import uvicorn

from tests.serve.fakes import FakeControl, ModelBehaviour, fake_backend_app


def main(argv: list[str]) -> int:
    port, behaviours = int(argv[0]), json.loads(Path(argv[1]).read_text())
    control = FakeControl()
    for attr in ("calls", "auth", "agents"):
        setattr(control, attr, deque(maxlen=1000))
    for model, fields in behaviours.items():
        control.models[model] = ModelBehaviour(**fields)
    uvicorn.run(fake_backend_app(control), host="127.0.0.1", port=port, log_level="warning",
                timeout_keep_alive=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
