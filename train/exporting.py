"""Export step of training: ONNX graph, parity check, int8 variant, manifest."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer
from torch import nn

from router_model.export import attach_manifest, export_graph
from router_model.graph import RouterGraph
from router_model.manifest import Manifest, Profile
from router_model.parity import check_parity
from router_model.policies.base import Policy
from router_model.quantization import decision_agreement, quantize_router
from router_model.reward import RewardWeights
from train.config import TrainConf
from train.evaluate import ValidationReport
from train.sources import LoadedLogs

log = logging.getLogger(__name__)


def model_profiles(models: list[str], logs: LoadedLogs, path: str = "") -> dict[str, dict]:
    """Per-model serving profile: from the profiles file when it lists the model,
    otherwise estimated from the logs (latency, energy and price per token)."""
    from data.profiles import load_profiles

    known: Mapping[str, Any]
    try:
        known = load_profiles(path) if path else load_profiles()
    except (OSError, ValueError) as e:
        log.warning("profiles unavailable (%s); estimating from the logs", e)
        known = {}
    df = logs.frame
    out = {}
    for m in models:
        if m in known:
            p = known[m]
            out[m] = asdict(Profile(p.ttft_ms, p.tpot_ms, p.j_per_token,
                                    p.price_in_per_mtok, p.price_out_per_mtok))
            continue
        rows = df[df["model"] == m]
        toks = max(float(rows["completion_tokens"].mean()), 1.0)
        price = float(rows["cost_usd"].sum()) / max(
            float((rows["prompt_tokens"] + rows["completion_tokens"]).sum()), 1.0) * 1e6
        out[m] = asdict(Profile(0.0, float(rows["latency_ms"].mean()) / toks,
                                float(rows["energy_j"].mean()) / toks, price, price))
    return out


def int8_step(out_dir: Path, tok: Tokenizer, calib: list[str], held_out: list[str],
              n_models: int, w_costs: list[float]) -> dict[str, Any]:
    """Quantize, then measure decision agreement with fp32 on held-out queries."""
    quantize_router(out_dir / "router.onnx", out_dir / "router_int8.onnx", tok, calib,
                    n_models)
    weights = [RewardWeights(w_cost=w) for w in w_costs]
    agree = decision_agreement(out_dir / "router.onnx", out_dir / "router_int8.onnx", tok,
                               held_out, n_models, weights)
    log.info("int8 decision agreement with fp32: %.4f on %d queries x %d weights",
             agree, len(held_out), len(weights))
    return {"agreement": agree, "n_queries": len(held_out), "n_weights": len(weights),
            "format": "QDQ", "calibration_queries": len(calib)}


def export_artifact(conf: TrainConf, featurizer: nn.Module, policy: Policy, tok: Tokenizer,
                    out_dir: Path, feat_info: dict, tok_info: dict, logs: LoadedLogs,
                    metrics: dict[str, float], X_val: np.ndarray, val_texts: list[str],
                    report: ValidationReport | None) -> Manifest:
    """Write router.onnx (+ router_int8.onnx), tokenizer.json and manifest.json."""
    models = list(policy.models_)
    graph = RouterGraph(featurizer, policy.torch_module())  # type: ignore[attr-defined]
    export_graph(graph, out_dir / "router.onnx", len(models), conf.export.exporter)
    parity = check_parity(graph, out_dir / "router.onnx", len(models),
                          conf.export.parity_samples, conf.trainer.seed)
    metrics = {**metrics, **{f"parity_max_abs_{k}": v for k, v in parity.max_abs_diff.items()},
               "parity_choice_agreement": parity.choice_agreement}
    int8: dict[str, Any] = {}
    if conf.export.int8:
        rng = np.random.default_rng(conf.trainer.seed)
        train_texts = [str(q) for q in logs.view.queries]
        calib = [train_texts[i] for i in rng.choice(
            len(train_texts), min(conf.export.calibration_size, len(train_texts)), False)]
        int8 = int8_step(out_dir, tok, calib, [str(t) for t in val_texts], len(models),
                         [w for w in conf.reward.w_costs if math.isfinite(w)])
        metrics["int8_agreement"] = int8["agreement"]
    params = policy.params() if hasattr(policy, "params") else {}
    manifest = Manifest(
        models=models, tokenizer=tok_info, featurizer=feat_info,
        policy={"name": policy.name, "params": params}, train_data_sha256=logs.sha256,
        profiles=model_profiles(models, logs, logs.profiles), metrics=metrics,
        int8=int8)
    if report is not None:
        manifest.metrics["validation"] = report.to_dict()
    return attach_manifest(out_dir, manifest)
