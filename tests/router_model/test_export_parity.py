"""ONNX Runtime matches PyTorch; the manifest is complete; int8 agrees with fp32."""

from __future__ import annotations

import json

import onnx

from router_model.graph import INPUT_NAMES, OUTPUT_NAMES
from router_model.manifest import METADATA_KEY
from router_model.parity import check_parity
from router_model.quantization import decision_agreement
from router_model.reward import RewardWeights
from router_model.tokenization import load_tokenizer

# Stated tolerance: float32 graph vs float32 torch, different kernels and op order.
ATOL_QUALITY = 1e-5


def test_onnx_matches_torch_on_fresh_random_inputs(trained) -> None:
    rep = check_parity(trained.graph, trained.out_dir / "router.onnx", len(trained.models),
                       n=128, seed=12345)
    assert rep.max_abs_diff["quality"] < ATOL_QUALITY
    assert rep.max_abs_diff["features"] < ATOL_QUALITY
    # cost / latency / energy span orders of magnitude: compare relative to their scale
    scale = check_parity(trained.graph, trained.out_dir / "router.onnx", len(trained.models),
                         n=4, seed=1)
    assert scale.max_abs_diff["latency_ms"] < 1e-2  # ms, on values of 100s-1000s
    assert rep.choice_agreement == 1.0, rep
    # utility mixes outcomes of very different scales (energy up to 1e5+ J on random
    # out-of-distribution ids): float32 op order moves it relative to its size
    assert rep.max_rel_diff is not None
    assert max(rep.max_rel_diff[k] for k in ("cost_usd", "latency_ms", "energy_j",
                                            "utility")) < 1e-5, rep


def test_graph_io_and_metadata(trained) -> None:
    model = onnx.load(str(trained.out_dir / "router.onnx"))
    assert [i.name for i in model.graph.input] == list(INPUT_NAMES)
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    meta = {p.key: p.value for p in model.metadata_props}
    manifest = json.loads((trained.out_dir / "manifest.json").read_text())
    assert json.loads(meta[METADATA_KEY]) == manifest
    for key in ("models", "profiles", "tokenizer", "featurizer", "policy",
                "train_data_sha256", "metrics", "onnx_sha256", "created_utc"):
        assert manifest[key], key
    assert manifest["tokenizer"]["truncation"] == "keep_tail"
    assert set(manifest["profiles"]) == set(manifest["models"])
    assert manifest["metrics"]["parity_choice_agreement"] == 1.0


def test_int8_makes_the_same_decisions(trained) -> None:
    manifest = json.loads((trained.out_dir / "manifest.json").read_text())
    assert manifest["int8"]["agreement"] >= 0.99
    tok = load_tokenizer(manifest["tokenizer"]["max_tokens"])
    weights = [RewardWeights(w_cost=w) for w in (0.0, 1e3, 1e4)]
    agree = decision_agreement(trained.out_dir / "router.onnx",
                               trained.out_dir / "router_int8.onnx", tok, trained.held_out,
                               len(trained.models), weights)
    assert agree >= 0.99, agree
    ops = {n.op_type for n in onnx.load(str(trained.out_dir / "router_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
