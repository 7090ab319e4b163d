"""Re-export a trained guard artifact's graph from its own weights (no retraining).

``python -m router_model.guard.reexport SRC DST``: the ``GuardGraph`` whose weights are
the initializers of ``SRC/guard.onnx`` (the folded token table, the shape, convolution,
bigram, wide and head weights, the static featurizer's tables) is exported again with
the current ``GuardGraph.forward`` (e.g. a faster form of the same function) into
``DST`` with the rest of ``SRC`` (n-gram scorer, tokenizer, manifest, its thresholds and
metrics); the new graph must agree with the old one on random windows (max |diff| of
scores and tag probabilities under ``TOL``) or nothing is written.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from router_model.featurizer import StaticFeaturizer
from router_model.guard.artifact import ArtifactError, open_guard_artifact
from router_model.guard.export import FP32, INT8, attach_manifest, export_guard, write_int8
from router_model.guard.manifest import GuardManifest
from router_model.guard.nets import OUTPUT_NAMES, GuardGraph, GuardNet
from router_model.guard.parity import guard_feeds

log = logging.getLogger(__name__)
TOL = 1e-5


def _node_weight(model: onnx.ModelProto, init: dict[str, np.ndarray], op: str,
                 name: str) -> np.ndarray | None:
    """The initializer that is the second input of the ``op`` node ``name``, or None."""
    for n in model.graph.node:
        if n.op_type == op and n.name == name and n.input[1] in init:
            return init[n.input[1]]
    return None


def stream_weights(model: onnx.ModelProto, init: dict[str, np.ndarray], layers: int
                   ) -> tuple[list[np.ndarray], np.ndarray]:
    """The (out, in, 3) Conv1d weights of the ``layers`` dilated convolutions and the
    (L, hidden) tag head weight, from either export form: the stacked matmuls
    (``/net/MatMul``, ``/net/MatMul_1``, ... with (3 * in, out) operands, then
    ``/net/tag_head/MatMul``) or the 2-D convolutions (``/net/Conv``, ... (out, in, 1,
    3), then the tag head's (L, hidden, 1, 1) ``/net/Conv_<layers>``)."""
    def nth(op: str, i: int) -> np.ndarray | None:
        return _node_weight(model, init, op, f"/net/{op}" + (f"_{i}" if i else ""))

    mm = [w for i in range(layers) if (w := nth("MatMul", i)) is not None]
    tag = _node_weight(model, init, "MatMul", "/net/tag_head/MatMul")
    if len(mm) == layers and tag is not None:
        return [w.reshape(3, -1, w.shape[1]).transpose(2, 1, 0) for w in mm], tag.T
    cv = [w for i in range(layers + 1) if (w := nth("Conv", i)) is not None]
    if len(cv) == layers + 1:
        return [w[:, :, 0, :] for w in cv[:-1]], cv[-1][:, :, 0, 0]
    raise ValueError("reexport: neither the stacked-matmul nor the conv2d token stream "
                     f"with {layers} layers found in the graph")


def graph_from_onnx(model: onnx.ModelProto) -> GuardGraph:
    """The ``GuardGraph`` with the weights of an exported guard graph ``model`` (sizes
    read from the weights; the learned token table and projections are folded into
    ``lin`` in the graph, so the net's own ``token`` / ``proj`` stay unused)."""
    init = {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}
    if "net.featurizer.table.weight" not in init:
        kind = "a seed ensemble (GuardEnsemble)" if any(k.startswith("members.") for k in init) \
            else "not a GuardGraph export"
        raise ValueError(f"reexport: the graph is {kind}; only single-net guard graphs can "
                         "be re-exported (retrain with `lmroute guard train` instead)")
    table = init["net.featurizer.table.weight"]
    feat = StaticFeaturizer(table, np.ones(len(table), np.float32),
                            init["net.featurizer.scalars.flags.weight"])
    layers = sum(1 for k in init if k.startswith("net.convs.") and k.endswith(".bias"))
    bigram, wide = init["net.bigram.weight"], init["net.wide.weight"]
    net = GuardNet(feat, len(init["net.cls_head.3.bias"]), len(init["net.tag_head.bias"]),
                   hidden=init["net.shape.weight"].shape[1], conv_layers=layers,
                   token_dim=1, ngram_buckets=bigram.shape[0], ngram_dim=bigram.shape[1],
                   wide_buckets=wide.shape[0]).eval()
    convs, tag_w = stream_weights(model, init, len(net.convs))
    state = {k[len("net."):]: torch.from_numpy(v) for k, v in init.items()
             if k.startswith("net.") and not k.startswith("net.featurizer.")}
    state |= {f"convs.{i}.weight": torch.from_numpy(np.ascontiguousarray(w))
              for i, w in enumerate(convs)}
    state["tag_head.weight"] = torch.from_numpy(np.ascontiguousarray(tag_w))
    missing = net.load_state_dict(state, strict=False).missing_keys
    unused = {"proj.weight", "proj.bias", "token.weight", "token_proj.weight"}  # folded
    if {k for k in missing if not k.startswith("featurizer.")} - unused:
        raise ValueError(f"reexport: weights missing from the graph: {sorted(missing)}")
    graph = GuardGraph(net)
    graph.lin = torch.nn.Embedding.from_pretrained(torch.from_numpy(init["lin.weight"]),
                                                   freeze=True)
    return graph.eval()


def max_diffs(old: Path, new: Path, n: int = 64, seed: int = 0) -> dict[str, float]:
    """Max |diff| per output of two guard graphs on ``n`` random windows (over real
    tokens for the tag probabilities)."""
    feeds = guard_feeds(n, seed=seed)
    runs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
            .run(list(OUTPUT_NAMES), feeds) for p in (old, new)]
    mask = feeds["attention_mask"].astype(bool)
    return {"scores": float(np.abs(runs[0][0] - runs[1][0]).max()),
            "tag_probs": float(np.abs(runs[0][1] - runs[1][1])[mask].max())}


def reexport(src: Path, dst: Path) -> dict[str, float]:
    """Write ``dst``: ``src`` with its graphs re-exported (see module docstring)."""
    manifest = GuardManifest(**{k: v for k, v in open_guard_artifact(src).manifest.items()
                                if k in GuardManifest.__dataclass_fields__})
    graph = graph_from_onnx(onnx.load(str(src / FP32)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / dst.name
        shutil.copytree(src, out)
        export_guard(graph, out / FP32)
        diffs = max_diffs(src / FP32, out / FP32)
        if max(diffs.values()) > TOL:
            raise ValueError(f"reexport: the new graph differs from {src} by {diffs}")
        if (src / INT8).exists():
            write_int8(out / FP32, out / INT8)
        attach_manifest(out, manifest)
        shutil.copytree(out, dst, dirs_exist_ok=True)
    return diffs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m router_model.guard.reexport",
                                description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        diffs = reexport(args.src, args.dst)
    except (ArtifactError, ValueError) as e:  # not an artifact, or the graphs disagree
        log.error("reexport: %s", e)
        return 2
    log.info("re-exported %s -> %s, max |diff| %s", args.src, args.dst, diffs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
