"""Export the guard graph to ONNX (+ an int8 variant) and write the artifact directory.

``OUT/guard.onnx`` and ``OUT/guard_int8.onnx`` (manifest in metadata_props, as the
router's), ``OUT/manifest.json``, ``OUT/tokenizer.json``. The int8 graph stores every
embedding table (the static token table, the learned token and bigram tables) as int8
rows with per-row scales (``router_model.quantization.quantize_tables``, the router's
own rewrite); the small convolutions and heads stay float.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from router_model.export import OPSET, graph_sha256
from router_model.guard.manifest import METADATA_KEY, GuardManifest
from router_model.guard.nets import INPUT_NAMES, OUTPUT_NAMES
from router_model.quantization import quantize_tables

log = logging.getLogger(__name__)
FP32, INT8 = "guard.onnx", "guard_int8.onnx"


def example_inputs(batch: int = 2, tokens: int = 9) -> tuple[torch.Tensor, ...]:
    ids = torch.randint(1000, 2000, (batch, tokens))
    return ids, torch.ones_like(ids), torch.zeros_like(ids)


def export_guard(graph: nn.Module, path: Path) -> None:
    """Write ``graph`` (a ``GuardGraph`` or ``GuardEnsemble``) as one self-contained ONNX
    file, dynamic batch and length axes."""
    axes = {n: {0: "B", 1: "T"} for n in (*INPUT_NAMES, "tag_probs")}
    axes["scores"] = {0: "B"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph.eval(), example_inputs(), str(path),
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          opset_version=OPSET, dynamo=False, dynamic_axes=axes)
    onnx.checker.check_model(str(path))


def write_int8(fp32: Path, out: Path) -> None:
    onnx.save_model(quantize_tables(onnx.load(str(fp32))), str(out))


def attach_manifest(out_dir: Path, manifest: GuardManifest) -> GuardManifest:
    """Hash the graphs, embed the manifest in both and write ``manifest.json``."""
    models = {p: onnx.load(str(p)) for p in (out_dir / FP32, out_dir / INT8) if p.exists()}
    manifest.onnx_sha256 = graph_sha256(models[out_dir / FP32])
    if out_dir / INT8 in models:
        manifest.int8["onnx_sha256"] = graph_sha256(models[out_dir / INT8])
    for path, model in models.items():
        del model.metadata_props[:]
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, manifest.to_json()
        onnx.save_model(model, str(path))
    (out_dir / "manifest.json").write_text(manifest.to_json() + "\n")
    log.info("wrote guard artifact %s (graph sha256 %s)", out_dir, manifest.onnx_sha256[:12])
    return manifest
