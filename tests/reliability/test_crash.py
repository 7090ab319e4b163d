"""SIGKILL under load: the gateway process is killed while 8 clients keep it busy
(streamed and plain requests, mixed profiles, feedback). Then:

- every acknowledged request (a 200 the client received) that is missing from the
  decision log must be one acknowledged within the documented loss window before the
  kill (serve/logsink.py: the rows not yet in a finished file, i.e. appended since the
  last finished write began: at most ``flush_interval_s`` plus the write times);
- the files left behind read cleanly: ``read_frame`` and the training source
  (``data.convert`` format ``gateway``, what ``lmroute train data=gateway`` and ``lmroute
  loop`` read) take them, half-written ``.tmp`` files are ignored;
- a gateway restarted on the same log directory serves and logs again.
Parquet (the default) in the default run; JSONL in the slow one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.convert import convert
from data.io import read_frame
from tests.reliability.load import Load
from tests.reliability.procs import GatewayProc, backend, stub_settings
from tests.serve.fakes import FakeControl, ThreadServer

FLUSH_S = 1.0
SLACK_S = 1.0  # the write itself and a loaded 2-core box


def _gateway(fake_url: str, log_dir: Path, fmt: str) -> dict[str, Any]:
    backends = {"b-cheap": backend(fake_url, "up-cheap", ["m-cheap"]),
                "b-mid": backend(fake_url, "up-mid", ["m-mid"]),
                "b-strong": backend(fake_url, "up-strong", ["m-strong"])}
    raw = stub_settings(backends, log_dir, fallback_backend=None,
                        log={"dir": str(log_dir), "format": fmt, "flush_interval_s": FLUSH_S,
                             "flush_rows": 256})
    raw["profiles"] = {k: {**v, "epsilon": 0.2} for k, v in raw["profiles"].items()}
    return raw


def crash(fake: tuple[FakeControl, ThreadServer], work: Path, fmt: str,
          seconds: float = 4.0) -> dict[str, Any]:
    """Run the load, SIGKILL the gateway, count what was lost; returns the counts."""
    control, srv = fake
    control.reset()
    log_dir = work / "logs"
    gw = GatewayProc(_gateway(f"{srv.url}/v1", log_dir, fmt), work)
    with gw, Load(gw.url, clients=8) as load:
        time.sleep(seconds)
        gw.kill()
        t_kill = time.monotonic()
    acked = {a.rid: a.done for a in load.result.answers if a.status == 200}
    rows = read_frame(log_dir / "requests") if fmt == "parquet" else _jsonl(log_dir)
    logged = set(rows["request_id"])
    lost = {rid: t for rid, t in acked.items() if rid not in logged}
    window = FLUSH_S + SLACK_S
    in_window = sum(t >= t_kill - window for t in acked.values())
    fb = _feedback(log_dir, fmt)
    return {"format": fmt, "acknowledged": len(acked), "logged": len(logged),
            "lost": len(lost), "bound_rows": in_window, "window_s": window,
            "lost_outside_window": sum(t < t_kill - window for t in lost.values()),
            "oldest_lost_s_before_kill": round(max((t_kill - t for t in lost.values()),
                                                   default=0.0), 3),
            "feedback_acknowledged": len(load.result.feedback),
            "feedback_lost": len({r for r, _ in load.result.feedback} - fb),
            "tmp_files": len(list(log_dir.rglob("*.tmp"))), "log_dir": str(log_dir),
            "rows": rows}


def _jsonl(log_dir: Path) -> Any:
    import pandas as pd

    ids = [json.loads(line)["request_id"] for f in sorted((log_dir / "requests").glob("*.jsonl"))
           for line in f.read_text().splitlines() if line.strip()]
    return pd.DataFrame({"request_id": ids})


def _feedback(log_dir: Path, fmt: str) -> set[str]:
    d = log_dir / "feedback"
    if not any(d.glob(f"*.{fmt}")):
        return set()
    if fmt == "parquet":
        return set(read_frame(d)["request_id"])
    return {json.loads(line)["request_id"] for f in d.glob("*.jsonl")
            for line in f.read_text().splitlines() if line.strip()}


def _check(out: dict[str, Any], fake: tuple[FakeControl, ThreadServer], work: Path) -> None:
    print("\ncrash:", json.dumps({k: v for k, v in out.items() if k != "rows"}))
    assert out["acknowledged"] > 100  # the load really ran
    assert out["lost_outside_window"] == 0, out  # only the documented tail is lost
    assert out["lost"] <= out["bound_rows"], out
    assert out["feedback_lost"] <= out["feedback_acknowledged"]
    log_dir = Path(out["log_dir"])
    kept = convert("gateway", [log_dir])  # what training and the loop read
    assert len(kept.frame) > 0 and kept.frame["request_id"].isin(set(out["rows"]
                                                                     ["request_id"])).all()
    # restart on the same directory: it serves and logs next to the old files
    srv = fake[1]
    fmt = out["format"]
    with GatewayProc(_gateway(f"{srv.url}/v1", log_dir, fmt), work / "again") as gw:
        r = httpx.post(f"{gw.url}/v1/chat/completions", timeout=30, json={
            "model": "lmroute/auto", "messages": [{"role": "user", "content": "after"}]})
        assert r.status_code == 200
    again = read_frame(log_dir / "requests") if fmt == "parquet" else _jsonl(log_dir)
    assert r.headers["x-request-id"] in set(again["request_id"])


def test_sigkill_under_load_loses_only_the_documented_tail(fake_server, tmp_path) -> None:
    out = crash(fake_server, tmp_path, "parquet")
    _check(out, fake_server, tmp_path)


@pytest.mark.slow
def test_sigkill_under_load_jsonl(fake_server, tmp_path) -> None:
    out = crash(fake_server, tmp_path, "jsonl", seconds=6.0)
    _check(out, fake_server, tmp_path)
