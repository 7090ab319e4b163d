"""The HTTP fuzzer: reads the gateway's own OpenAPI document (``GET /openapi.json``), draws
probes for every operation in it (``attacks.py``; ``controls.py`` adds what the document
does not declare), sends them to the running gateway and checks every response
(``fuzz_checks.py``). Failures are collected, not raised, so one run reports all of them
with what to send to reproduce each.

``run(url, examples_per_op)`` -> ``FuzzReport`` (cases tried, statuses, failures).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisWarning

from tests.reliability.attacks import Operation, Probe, operation_list, unknown_routes
from tests.reliability.controls import strategy
from tests.reliability.fuzz_checks import check, error_of, named
from tests.reliability.schema_gen import SchemaGen

log = logging.getLogger(__name__)


@dataclass
class FuzzReport:
    """What one fuzz run tried and found."""

    cases: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds_by_operation: dict[str, float] = field(default_factory=dict)
    seconds_by_kind: Counter[str] = field(default_factory=Counter)  # in send + checks
    statuses: Counter[int] = field(default_factory=Counter)
    named_field: Counter[str] = field(default_factory=Counter)  # named | explained | wrong
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "seconds": round(self.seconds, 1),
                "by_operation": dict(self.by_operation), "by_kind": dict(self.by_kind),
                "seconds_by_operation": {k: round(v, 2)
                                         for k, v in self.seconds_by_operation.items()},
                "seconds_by_kind": {k: round(v, 2) for k, v in self.seconds_by_kind.items()},
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "named_field": dict(self.named_field), "failures": self.failures[:100],
                "n_failures": len(self.failures)}


class Fuzzer:
    """Sends probes to one gateway and checks the answers."""

    def __init__(self, url: str, auth: dict[str, dict[str, str]], leaks: tuple[str, ...],
                 timeout_s: float = 30.0) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=timeout_s)
        self.doc: dict[str, Any] = self.client.get("/openapi.json").raise_for_status().json()
        self.gen = SchemaGen(self.doc)
        self.ops: list[Operation] = operation_list(self.doc, auth)
        self.leaks = leaks
        self.report = FuzzReport()

    def close(self) -> None:
        self.client.close()

    def send(self, p: Probe, body: bytes | None = None,
             headers_: dict[str, str] | None = None) -> httpx.Response:
        body = p.body if body is None else body
        sent = p.headers if headers_ is None else headers_
        headers = {k: v.encode("latin-1") for k, v in sent.items()}  # as sent on the wire
        if body is not None and "content-type" not in headers:
            headers["content-type"] = b"application/json"
        content: Any = body
        if p.chunked and body is not None:
            content = (body[i:i + 65536] for i in range(0, len(body), 65536))
        return self.client.request(p.method, p.path, content=content, headers=headers)

    def probe(self, p: Probe) -> None:
        """Send one probe, check the answer, record the outcome."""
        rep = self.report
        rep.cases += 1
        rep.by_operation[p.op] += 1
        rep.by_kind[p.kind] += 1
        t0 = time.perf_counter()
        try:
            r = self.send(p)
        except httpx.HTTPError as exc:
            self._fail(p, None, [f"transport error: {type(exc).__name__}: {exc}"])
            return
        rep.statuses[r.status_code] += 1
        problems = check(p, r, self.leaks)
        problems += self._named(p, r)
        rep.seconds_by_kind[p.kind] += time.perf_counter() - t0
        if problems:
            self._fail(p, r, problems)

    def _named(self, p: Probe, r: httpx.Response) -> list[str]:
        """The violated field named? If not, is the repaired twin refused for the same
        other field (the body had a second problem the schema cannot express)?"""
        ok = named(p, r)
        if ok is None:
            return []
        if ok:
            self.report.named_field["named"] += 1
            return []
        other = (error_of(r) or {}).get("param")
        if p.twin is not None or p.twin_headers is not None:
            twin = self.send(p, p.twin, p.twin_headers)
            if twin.status_code == r.status_code and (error_of(twin) or {}).get("param") == other:
                self.report.named_field["explained"] += 1
                return []
        self.report.named_field["wrong"] += 1
        return [f"violated {p.field!r}, the error names {other!r}"]

    def _fail(self, p: Probe, r: httpx.Response | None, problems: list[str]) -> None:
        body = (p.body or b"")
        self.report.failures.append({
            "op": p.op, "kind": p.kind, "problems": problems, "field": p.field,
            "status": None if r is None else r.status_code,
            "response": None if r is None else r.text[:300],
            "request_headers": {k: v[:200] for k, v in p.headers.items()},
            "request_body": body[:400].decode(errors="replace"), "body_bytes": len(body)})

    def fuzz_operation(self, op: Operation, examples: int, seed: int = 0) -> None:
        """``examples`` probes of one operation (Hypothesis draws them, no shrinking)."""

        probes = strategy(self.gen, op)  # built once: building is the slow part
        warnings.filterwarnings("ignore", category=HypothesisWarning)  # large reprs

        @settings(max_examples=examples, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                  derandomize=seed == 0)
        @given(probes)
        def one(p: Probe) -> None:
            self.probe(p)

        (one if seed == 0 else hypothesis.seed(seed)(one))()

    def run(self, examples_per_op: int, seed: int = 0) -> FuzzReport:
        """Every operation of the document, then the methods and paths it does not have.
        ``seed`` 0: the same cases every run (derandomized); else a reproducible random run."""
        t0 = time.perf_counter()
        for op in self.ops:
            t = time.perf_counter()
            self.fuzz_operation(op, examples_per_op, seed)
            self.report.seconds_by_operation[op.label] = time.perf_counter() - t
            log.info("%s: %d probes", op.label, self.report.by_operation[op.label])
        for p in unknown_routes(self.doc["paths"]):
            self.probe(p)
        self.report.seconds += time.perf_counter() - t0
        return self.report
