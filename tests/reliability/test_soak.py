"""A short soak (20 s, slow): the invariants of ``python -m tests.reliability.soak`` on a
run short enough for a test. The 10-minute run (``make soak``) is the measurement; this
is a tripwire for gross leaks and for errors under sustained load: no 5xx, no transport
error, the gateway alive and ready after, file descriptors flat, RSS slope bounded."""

from __future__ import annotations

import json

import pytest

from tests.reliability.soak import run_soak

# a 20 s run still includes the allocator's warm-up growth (~15 MB/min over 30 s here);
# 60 MB/min is ~10 KB kept per request at this rate: a leak, not noise
RSS_SLOPE_MB_MIN_SHORT = 60.0


@pytest.mark.slow
def test_a_short_soak_holds_the_invariants(tmp_path) -> None:
    out = run_soak(20.0, tmp_path, clients=16, sample_s=1.0, window_s=5.0)
    f = out["flatness"]
    print("\nsoak:", json.dumps({k: out[k] for k in ("requests", "statuses",
                                                    "transport_errors")}),
          json.dumps({"rss_mb": f["rss_mb"], "fds": f["fds"]}))
    assert out["requests"] > 200, out["requests"]  # the load really ran
    assert out["status_5xx"] == 0 and set(out["statuses"]) == {"200"}, out["statuses"]
    assert out["transport_errors"] == 0, out["transport_error_examples"]
    assert out["alive_after"] and out["ready_after"] == 200
    assert all(w["requests"] > 0 for w in out["windows"]), out["windows"]
    assert f["fds_flat"], f["fds"]
    assert f["rss_mb"]["slope_per_min"] < RSS_SLOPE_MB_MIN_SHORT, f["rss_mb"]
