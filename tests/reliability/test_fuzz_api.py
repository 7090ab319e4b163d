"""Property-based fuzzing of the gateway's HTTP API from its own OpenAPI document
(``GET /openapi.json``): every operation of the document, valid bodies, bodies with one
violation, bad header values, bad keys, broken / nested / oversized / mistyped bodies,
streams, methods and paths that do not exist. Invariants: tests/reliability/fuzz_checks.py.

Bounded here (``LMROUTE_FUZZ_EXAMPLES`` probes per operation, default 40, the same cases
every run); ``make fuzz`` runs it with more, a random ``LMROUTE_FUZZ_SEED`` and the
schemathesis engine too, and writes the reports (``LMROUTE_FUZZ_REPORT``, ...)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.reliability.fuzzer import Fuzzer
from tests.reliability.procs import ADMIN_KEY, GatewayProc

EXAMPLES = int(os.environ.get("LMROUTE_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("LMROUTE_FUZZ_SEED", "0"))  # 0: derandomized (the same cases)
CHAT = {"model": "lmroute/auto", "messages": [{"role": "user", "content": "hello"}]}


def test_every_operation_holds_the_invariants(fuzz_target) -> None:
    gw, key, leaks = fuzz_target
    fuzzer = Fuzzer(gw.url, {"apiKey": {"authorization": f"Bearer {key}"},
                             "adminBearer": {"authorization": f"Bearer {ADMIN_KEY}"}}, leaks)
    before = gw.usage()
    report = fuzzer.run(EXAMPLES, SEED)
    fuzzer.close()
    after = gw.usage()
    fuzzed = cache_counts(gw)  # what the generated requests alone did to the cache
    cache = _cache_sees_lookups(gw, key, fuzzed)
    out = {**report.as_dict(), "seed": SEED, "rss_mb_before": round(before.rss_mb, 1),
           "rss_mb_after": round(after.rss_mb, 1), "fds_before": before.fds,
           "fds_after": after.fds, "cache_after_fuzz": fuzzed, "cache": cache}
    if path := os.environ.get("LMROUTE_FUZZ_REPORT"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(out, indent=1))
    print(f"\nfuzz: {report.cases} cases in {report.seconds:.1f} s over "
          f"{len(report.by_operation)} operations; statuses {dict(report.statuses)}; "
          f"named field {dict(report.named_field)}; cache after the fuzz {fuzzed}, "
          f"after the probes {cache}; {len(report.failures)} failures")
    assert set(report.by_operation) >= {op.label for op in fuzzer.ops}  # every path fuzzed
    assert not report.failures, json.dumps(report.failures[:8], indent=1)
    _still_healthy(gw, key)


def cache_counts(gw: GatewayProc) -> dict[str, dict[str, int]]:
    """The cache stage's lookups and stores by outcome, from the gateway's /metrics."""
    text = httpx.get(f"{gw.url}/metrics", timeout=10).text
    out: dict[str, dict[str, int]] = {"lookups": {}, "stores": {}}
    for m in re.finditer(r'^lmroute_cache_(lookups|stores)_total\{outcome="([a-z_]+)"\} (\S+)$',
                         text, re.M):
        out[m[1]][m[2]] = int(float(m[3]))
    return out


def _cache_sees_lookups(gw: GatewayProc, key: str, before: dict[str, dict[str, int]],
                        wait_s: float = 5.0) -> dict[str, dict[str, int]]:
    """After the campaign the cache stage is still on and counting. Known-valid chat
    requests in a tenant of their own (an empty partition): one, the same again until it
    is an exact hit (the first is stored in its finish stage, which may land just after the
    response), and one with the body flag ``"lmroute_cache": false`` (a bypass). Whether the
    generated bodies reached a lookup depends on what the generator drew (with the flag
    declared in the schema a clean-clone full run once drew none), so the check does not
    rest on them. Returns the counters after the probes."""
    import time
    import uuid

    probe = uuid.uuid4().hex  # its own tenant: an empty partition, so the first is a miss
    auth = {"authorization": f"Bearer {key}", "x-lmroute-tenant": f"probe-{probe}"}
    body = {**CHAT, "messages": [{"role": "user", "content": f"cache probe {probe}"}]}
    r = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=auth, timeout=10)
    assert r.status_code == 200 and r.headers.get("x-lmroute-cache") == "miss", \
        (r.status_code, dict(r.headers), r.text[:300])
    sent, deadline = 1, time.monotonic() + wait_s
    while True:
        r = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=auth, timeout=10)
        sent += 1
        assert r.status_code == 200, r.text
        if r.headers.get("x-lmroute-cache") == "hit" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.headers.get("x-lmroute-cache") == "hit", dict(r.headers)
    assert r.headers.get("x-lmroute-cache-tier") == "exact", dict(r.headers)
    r = httpx.post(f"{gw.url}/v1/chat/completions", json={**body, "lmroute_cache": False},
                   headers=auth, timeout=10)
    assert r.status_code == 200 and r.headers.get("x-lmroute-cache") == "bypass", \
        (r.status_code, dict(r.headers))
    sent += 1
    after = cache_counts(gw)

    def delta(kind: str, outcome: str | None = None) -> int:
        keys = [outcome] if outcome else set(after[kind]) | set(before[kind])
        return sum(after[kind].get(k, 0) - before[kind].get(k, 0) for k in keys)

    assert delta("lookups") == sent, (before, after, sent)  # every probe was looked up
    assert delta("lookups", "hit_exact") == 1 and delta("lookups", "bypass") == 1, \
        (before, after)
    assert delta("lookups", "miss") == sent - 2, (before, after)
    return after


def _still_healthy(gw: GatewayProc, key: str) -> None:
    """After the campaign: alive, ready, answering, and no backend cooled down by a
    client's input (bad input must never count against a backend)."""
    assert gw.alive()
    auth = {"authorization": f"Bearer {key}"}
    r = httpx.get(f"{gw.url}/health/ready", timeout=10)
    assert r.status_code == 200, r.text
    for name, b in r.json()["backends"].items():
        assert b["cooling_down_s"] == 0 and b["consecutive_failures"] == 0, (name, b)
    r = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json={**CHAT, "stream": True},
                      headers=auth, timeout=10) as s:
        assert s.status_code == 200 and s.read().endswith(b"data: [DONE]\n\n")


@pytest.mark.slow
def test_schemathesis_finds_nothing_either(fuzz_target) -> None:
    """The same document and checks, schemathesis's generator (``make fuzz``)."""
    from tests.reliability.st_engine import run_schemathesis

    gw, key, leaks = fuzz_target
    fuzzer = Fuzzer(gw.url, {"apiKey": {"authorization": f"Bearer {key}"},
                             "adminBearer": {"authorization": f"Bearer {ADMIN_KEY}"}}, leaks)
    run_schemathesis(fuzzer, int(os.environ.get("LMROUTE_ST_EXAMPLES", "50")), SEED)
    fuzzer.close()
    report = fuzzer.report
    if path := os.environ.get("LMROUTE_ST_REPORT"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**report.as_dict(), "seed": SEED,
                                          "cache": cache_counts(gw)}, indent=1))
    print(f"\nschemathesis: {report.cases} cases in {report.seconds:.1f} s; statuses "
          f"{dict(report.statuses)}; {len(report.failures)} failures")
    assert report.cases > 0
    assert not report.failures, json.dumps(report.failures[:8], indent=1)
    _still_healthy(gw, key)
