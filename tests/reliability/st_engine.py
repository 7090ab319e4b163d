"""A second, independent generator for the same fuzzer: schemathesis (hypothesis-jsonschema)
draws positive and negative requests from the same OpenAPI document; each is sent and
checked exactly like the fuzzer's own probes (``Fuzzer.probe``). Slower per case (50-80 ms
of generation for a chat body here), so it runs in ``make fuzz``, not the default run.

A schemathesis "negative" case is held to ``reject`` only when the fuzzer's own validator
(``SchemaGen.accepts``) agrees the body breaks the schema: the two generators read a few
corners of JSON Schema differently (formats, oneOf strictness), and a disagreement there
is not the gateway's fault.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any
from urllib.parse import urlencode

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisWarning
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.reliability.attacks import Operation, Probe, dumps
from tests.reliability.fuzzer import Fuzzer


def _probe(case: Any, op: Operation, mode: GenerationMode, fuzzer: Fuzzer) -> Probe:
    headers = {str(k).lower(): str(v) for k, v in (case.headers or {}).items()}
    headers = {k: v for k, v in headers.items() if all(ord(c) < 256 for c in v)}
    query = urlencode({str(k): str(v) for k, v in (case.query or {}).items()})
    body = getattr(case, "body", None)
    has_body = body is not None and type(body).__name__ != "NotSet"
    raw = (body if isinstance(body, bytes) else dumps(body)) if has_body else None
    expect = "any"
    if mode == GenerationMode.NEGATIVE and raw is not None and op.body_schema is not None:
        try:
            parsed = json.loads(raw)
        except ValueError:  # not JSON at all (or not UTF-8)
            expect = "reject"
        else:
            expect = "any" if fuzzer.gen.accepts(op.body_schema, parsed) else "reject"
    return Probe(op.label, op.method, case.formatted_path + (f"?{query}" if query else ""),
                 f"schemathesis_{mode.value}", {**headers, **op.auth}, raw, expect)


def run_schemathesis(fuzzer: Fuzzer, examples: int, seed: int = 0) -> None:
    """``examples`` positive and ``examples`` negative cases per operation; ``seed`` 0:
    Hypothesis' own random seed, else a reproducible run (``make fuzz FUZZ_SEED=N``)."""
    t0 = time.perf_counter()
    schema = schemathesis.openapi.from_dict(fuzzer.doc)
    ops = {o.label: o for o in fuzzer.ops}
    warnings.filterwarnings("ignore", category=HypothesisWarning)
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            continue
        api_op = result.ok()
        op = ops[f"{api_op.method.upper()} {api_op.path}"]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _one(fuzzer, api_op, op, mode, examples, seed)
            except Exception as exc:  # an operation with nothing negative to generate
                if type(exc).__name__ != "Unsatisfiable":
                    raise
    fuzzer.report.seconds += time.perf_counter() - t0


def _one(fuzzer: Fuzzer, api_op: Any, op: Operation, mode: GenerationMode, n: int,
         seed: int = 0) -> None:
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(api_op.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        fuzzer.probe(_probe(case, op, mode, fuzzer))

    (hypothesis.seed(seed)(one) if seed else one)()
