"""lmroute against a REAL vLLM server on the CPU (the production edge tier).

Needs ``scripts/vllm/setup.sh`` (``.venv-vllm`` + the converted Gemma 3 270M); skips with
the reason otherwise. Starts ``scripts/vllm/serve.sh`` (minutes of start-up on 2 cores),
checks /v1/models, one greedy completion against the transformers reference recorded at
conversion, parses the real /metrics with ``serve.load_signal``, and routes one chat
request through ``lmroute serve backends=vllm`` to it. Measurements are logged and
written to ``runs/vllm/integration.json``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serve.bench.procs import ManagedProcess
from serve.load_signal import parse_vllm_metrics
from serve.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-vllm"
MODEL_DIR = ROOT / ".cache" / "vllm" / "gemma-3-270m"
SERVED = "gemma-3-270m"
OUT = ROOT / "runs" / "vllm" / "integration.json"
log = logging.getLogger(__name__)

if not (VENV / ".installed").exists() or not (MODEL_DIR / "conversion.json").exists():
    pytest.skip(
        f"vLLM tier not set up ({VENV} / {MODEL_DIR} absent): run scripts/vllm/setup.sh",
        allow_module_level=True,
    )

MEASURED: dict[str, float | str] = {}


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    logs = tmp_path_factory.mktemp("vllm")
    proc = ManagedProcess(
        # --enforce-eager: no torch.compile, start-up 90 s instead of 280-390 s here
        # (decode 6 instead of 9 tokens/s): this test is bound by start-up
        "vllm", ["bash", str(ROOT / "scripts" / "vllm" / "serve.sh"), "--enforce-eager"],
        f"http://127.0.0.1:{port}/v1/models", logs / "vllm.log",
        env={"VLLM_PORT": str(port)},
    )  # fmt: skip
    with proc:
        proc.start(timeout_s=900)
        MEASURED["startup_s"] = round(proc.startup_s or 0.0, 1)
        yield f"http://127.0.0.1:{port}"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(MEASURED, indent=2) + "\n")
    log.warning("vLLM integration measurements: %s", MEASURED)


def test_models_lists_the_served_name(vllm_url: str) -> None:
    models = httpx.get(f"{vllm_url}/v1/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == [SERVED]


def test_greedy_completion_matches_the_transformers_reference(vllm_url: str) -> None:
    ref = json.loads((MODEL_DIR / "conversion.json").read_text())
    body = {"model": SERVED, "prompt": ref["reference_prompt"], "max_tokens": 16,
            "temperature": 0.0}  # fmt: skip
    resp = httpx.post(f"{vllm_url}/v1/completions", json=body, timeout=120).json()
    text = resp["choices"][0]["text"]
    MEASURED["greedy_text"] = text
    # float32 both sides: the first words of the greedy continuation must agree
    assert text.split()[:3] == ref["reference_greedy"].split()[:3], (text, ref)


def test_decode_throughput(vllm_url: str) -> None:
    body = {"model": SERVED, "prompt": "Once upon a time", "max_tokens": 64,
            "temperature": 0.0, "ignore_eos": True}  # fmt: skip
    t0 = time.perf_counter()
    resp = httpx.post(f"{vllm_url}/v1/completions", json=body, timeout=300).json()
    elapsed = time.perf_counter() - t0
    n = resp["usage"]["completion_tokens"]
    assert n == 64
    MEASURED["tokens_per_s_single_stream"] = round(n / elapsed, 1)
    MEASURED["latency_64_tokens_s"] = round(elapsed, 2)


def test_real_metrics_parse_into_a_load_signal(vllm_url: str) -> None:
    text = httpx.get(f"{vllm_url}/metrics", timeout=10).text
    load = parse_vllm_metrics(text, model_name=SERVED)
    assert load.model_names == (SERVED,)
    assert load.num_requests_running == 0 and load.num_requests_waiting == 0  # idle now
    assert 0.0 <= load.kv_cache_usage_perc <= 1.0
    assert not load.saturated()


def test_lmroute_routes_one_request_to_vllm(vllm_url: str, tmp_path: Path) -> None:
    port = free_port()
    overrides = [
        "backends=vllm", f"backends.vllm_edge.base_url={vllm_url}/v1", "router=null",
        "fallback_backend=vllm_edge", f"port={port}", f"log.dir={tmp_path / 'logs'}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]  # fmt: skip
    argv = [sys.executable, "-m", "lmroute_cli", "serve", *overrides]
    gw = ManagedProcess("lmroute", argv, f"http://127.0.0.1:{port}/health/ready",
                        tmp_path / "gw.log")  # fmt: skip
    with gw:
        gw.start(timeout_s=120)
        body = {"model": "lmroute/auto", "max_tokens": 8, "temperature": 0.0,
                "messages": [{"role": "user", "content": "The capital of France is"}]}  # fmt: skip
        resp = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=120)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-lmroute-backend"] == "vllm_edge"
    doc = resp.json()
    assert doc["choices"][0]["message"]["content"]
    assert doc["usage"]["completion_tokens"] > 0
    MEASURED["routed_via_lmroute"] = "ok"
