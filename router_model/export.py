"""Export a RouterGraph to ONNX and write the artifact directory.

``OUT_DIR/router.onnx`` (manifest in metadata_props["lmroute_manifest"]),
``OUT_DIR/manifest.json`` and ``OUT_DIR/tokenizer.json``. ``onnx_sha256`` is the
SHA-256 of the serialized graph (``ModelProto.graph``), which does not depend on the
metadata, so the manifest can live inside the file it describes.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch

from router_model.graph import INPUT_NAMES, OUTPUT_NAMES, RouterGraph
from router_model.manifest import METADATA_KEY, Manifest, graph_sha256

log = logging.getLogger(__name__)
OPSET = 20  # 20: GELU is one Gelu node (opset 18 spells it in five)


def example_inputs(n_models: int, batch: int = 2, tokens: int = 9) -> tuple[torch.Tensor, ...]:
    """Tracing inputs: ids (B, T), mask (B, T), weights (B, 5), model_mask (B, M)."""
    ids = torch.randint(1000, 2000, (batch, tokens))
    return (ids, torch.ones_like(ids), torch.zeros(batch, 5),
            torch.ones(batch, n_models, dtype=torch.bool))


def _export_kwargs(exporter: str) -> dict[str, Any]:
    if exporter == "dynamo":
        b, t = torch.export.Dim("B"), torch.export.Dim("T")
        return {"dynamo": True, "dynamic_shapes": {
            "input_ids": {0: b, 1: t}, "attention_mask": {0: b, 1: t},
            "weights": {0: b}, "model_mask": {0: b}}}
    if exporter == "legacy":
        axes = {n: {0: "B"} for n in (*INPUT_NAMES, *OUTPUT_NAMES)}
        axes["input_ids"] = axes["attention_mask"] = {0: "B", 1: "T"}
        return {"dynamo": False, "dynamic_axes": axes}
    raise ValueError(f"exporter: expected 'dynamo' or 'legacy', got {exporter!r}")


def export_graph(graph: RouterGraph, path: Path, n_models: int,
                 exporter: str = "dynamo") -> None:
    """Write ``graph`` as ONNX (opset 20) with dynamic batch and sequence axes."""
    graph = graph.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, example_inputs(n_models), str(path),
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          opset_version=OPSET, **_export_kwargs(exporter))
    model = onnx.load(str(path))  # pulls in any external-data file the exporter wrote
    onnx.save_model(model, str(path), save_as_external_data=False)  # one self-contained file
    side = path.with_name(path.name + ".data")
    if side.exists():
        side.unlink()
    onnx.checker.check_model(str(path))


def attach_manifest(out_dir: Path, manifest: Manifest) -> Manifest:
    """Fill the graph hashes, store the manifest in the metadata of ``router.onnx`` (and
    ``router_int8.onnx`` when present) and write ``manifest.json`` beside them."""
    fp32, int8 = out_dir / "router.onnx", out_dir / "router_int8.onnx"
    models = {p: onnx.load(str(p)) for p in (fp32, int8) if p.exists()}
    manifest.onnx_sha256 = graph_sha256(models[fp32])
    if int8 in models:
        manifest.int8["onnx_sha256"] = graph_sha256(models[int8])
    for path, model in models.items():
        del model.metadata_props[:]
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, manifest.to_json()
        onnx.save_model(model, str(path))
    (out_dir / "manifest.json").write_text(manifest.to_json() + "\n")
    log.info("wrote %s (graph sha256 %s)", out_dir, manifest.onnx_sha256[:12])
    return manifest
