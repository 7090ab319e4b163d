"""The NPU path, for real: the fp32 and int8 artifacts through onnxruntime-openvino's
OpenVINO execution provider make the same decisions as the default CPU provider.

Runs only in ``.venv-openvino`` (``make openvino-test``: onnxruntime-openvino replaces the
onnxruntime module), on a router trained from RouterBench (``LMROUTE_OV_ROUTER``), over
held-out RouterBench queries x several cost weights. Skips elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WEIGHTS = (0.0, 5.0, 20.0, 100.0, 1000.0)


def _router_dir() -> Path:
    ort = pytest.importorskip("onnxruntime")
    if "OpenVINOExecutionProvider" not in ort.get_available_providers():
        pytest.skip("OpenVINOExecutionProvider not installed (make openvino-test)")
    d = Path(os.environ.get("LMROUTE_OV_ROUTER", "runs/openvino/router"))
    if not (d / "router.onnx").is_file():
        pytest.skip(f"{d}: no trained router (make openvino-test trains one)")
    return d


def _held_out(shared_data: Path, n: int = 200) -> list[str]:
    from data.convert import convert

    frame = convert("routerbench", [shared_data / "routerbench"]).frame
    queries = list(dict.fromkeys(frame["query"].astype(str)))
    rng = np.random.default_rng(0)
    return [queries[i] for i in rng.choice(len(queries), n, replace=False)]


@pytest.mark.parametrize("int8", [False, True], ids=["fp32", "int8"])
def test_openvino_decisions_match_the_cpu_provider(shared_data: Path, int8: bool) -> None:
    from router_model.reward import RewardWeights
    from router_model.runtime import Router

    d = _router_dir()
    texts = _held_out(shared_data)
    cpu = Router.load(d, providers=["CPUExecutionProvider"], int8=int8)
    ov = Router.load(d, providers=["OpenVINOExecutionProvider"], int8=int8)
    assert ov.session.get_providers()[0] == "OpenVINOExecutionProvider"
    same, total, max_dq = 0, 0, 0.0
    for wc in WEIGHTS:
        w = RewardWeights(w_cost=wc)
        a, b = cpu.scores(texts, w), ov.scores(texts, w)
        same += int((a["choice"] == b["choice"]).sum())
        total += len(texts)
        max_dq = max(max_dq, float(np.abs(a["quality"] - b["quality"]).max()))
    # OpenVINO fuses and reorders float arithmetic: near-ties may flip, nothing more
    assert same / total >= 0.99, f"{same}/{total} decisions agree (max |dq| {max_dq:.2e})"
    assert max_dq < 1e-3
