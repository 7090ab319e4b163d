"""A comparison artifact: the same policy architecture behind the MiniLM featurizer.

Used by ``lmroute bench router`` to measure what the static featurizer saves. The
outcome heads have the shape recorded in the manifest (hidden, depth, ensemble size)
but are not trained: latency does not depend on the weight values.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np

from router_model.distill import load_sentence_model
from router_model.export import attach_manifest, export_graph
from router_model.featurizer import TransformerFeaturizer, token_flags
from router_model.graph import RouterGraph
from router_model.manifest import Manifest
from router_model.policies.outcome_net import REGRESSED, Ensemble, FitConfig, LogScale, OutcomeNet
from router_model.runtime import Router


def untrained_heads(d_in: int, n_models: int, params: dict) -> Ensemble:
    """Ensemble of OutcomeNets with the manifest's architecture."""
    cfg = FitConfig(hidden=int(params.get("hidden", 256)), depth=int(params.get("depth", 2)),
                    dropout=0.0, n_ensemble=int(params.get("n_ensemble", 1)))
    one = LogScale(np.zeros(n_models, np.float32), np.ones(n_models, np.float32))
    scales = {k: one for k in REGRESSED}
    nets = [OutcomeNet(d_in, n_models, cfg, np.zeros(d_in), np.ones(d_in), scales)
            for _ in range(cfg.n_ensemble)]
    return Ensemble(nets).eval()


def build_transformer_artifact(router: Router, out_dir: Path, exporter: str = "legacy") -> None:
    """Write a loadable artifact directory for the transformer-featurized variant."""
    feat = TransformerFeaturizer(load_sentence_model(), token_flags(router.tokenizer)).eval()
    heads = untrained_heads(feat.out_dim, len(router.models), router.manifest["policy"]
                            .get("params", {}))
    export_graph(RouterGraph(feat, heads), out_dir / "router.onnx", len(router.models),
                 exporter)
    shutil.copy(router.directory / "tokenizer.json", out_dir / "tokenizer.json")
    m = copy.deepcopy(router.manifest)
    fields = {k: m[k] for k in ("models", "tokenizer", "policy", "train_data_sha256",
                                "profiles")}
    manifest = Manifest(**fields, featurizer={"kind": "transformer", "dim": feat.out_dim,
                                              "sha256": "untrained-heads"},
                        metrics={"note": "latency comparison only; heads untrained"})
    attach_manifest(out_dir, manifest)
