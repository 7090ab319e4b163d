"""int8 QDQ variant of the router graph (the form NPU execution providers take).

- MLP hidden layers (Gemm / MatMul): ONNX Runtime static quantization, QDQ format,
  int8 per-channel symmetric weights, uint8 activations calibrated (MinMax) on training
  queries. The output heads (the last Gemm) stay float: quantizing their input
  activations flips near-tie decisions (97.7% agreement on synthetic data).
- The static token table (the big Gather, 30522 x d): int8 rows with per-row scales,
  dequantized after the gather (weight-only). Quantizing the gathered activations per
  tensor flipped ~3.5% of RouterBench decisions; per-row weights keep agreement >= 99%.
- The decision arithmetic (utility, limits, argmax) stays in float.

``decision_agreement`` measures how often int8 picks the same model as fp32.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from tokenizers import Tokenizer

from router_model.reward import RewardWeights
from router_model.tokenization import encode

log = logging.getLogger(__name__)
QUANTIZED_OPS = ["Gemm", "MatMul"]
MIN_TABLE_ROWS = 1000


def feeds(tok: Tokenizer, texts: list[str], n_models: int, batch: int = 16,
          weights: RewardWeights | None = None) -> Iterator[dict[str, np.ndarray]]:
    """ONNX feeds for texts in batches (all models allowed, given weights)."""
    w = (weights or RewardWeights()).as_array()
    for start in range(0, len(texts), batch):
        ids, mask = encode(tok, texts[start:start + batch])
        n = len(ids)
        yield {"input_ids": ids, "attention_mask": mask, "weights": np.tile(w, (n, 1)),
               "model_mask": np.ones((n, n_models), dtype=bool)}


class _Reader(CalibrationDataReader):
    def __init__(self, batches: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize_router(fp32: Path, out: Path, tok: Tokenizer, calibration_texts: list[str],
                    n_models: int) -> None:
    """Write the QDQ int8 graph of ``fp32`` to ``out``, calibrated on the texts."""
    if not calibration_texts:
        raise ValueError("calibration_texts: expected at least one text")
    with tempfile.TemporaryDirectory() as tmp:
        mlp = Path(tmp) / "mlp_int8.onnx"
        graph = onnx.load(str(fp32)).graph
        weights = {i.name for i in graph.initializer}
        # layers with a weight only: the featurizer's pooling MatMuls multiply two
        # activations (token weights x gathered rows) and stay float
        matmuls = [n.name for n in graph.node
                   if n.op_type in QUANTIZED_OPS and len(n.input) > 1 and n.input[1] in weights]
        if len(matmuls) < 2:  # no hidden layer: only the table is quantized
            onnx.save_model(quantize_tables(onnx.load(str(fp32))), str(out))
            return
        quantize_static(
            str(fp32), str(mlp), _Reader(list(feeds(tok, calibration_texts, n_models))),
            quant_format=QuantFormat.QDQ, nodes_to_quantize=matmuls[:-1],
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            extra_options={"WeightSymmetric": True})
        model = quantize_tables(onnx.load(str(mlp)))
    onnx.save_model(model, str(out))
    log.info("wrote int8 QDQ graph %s", out)


def _table_inputs(model: onnx.ModelProto) -> list[str]:
    """Names of float initializers (rows >= MIN_TABLE_ROWS, cols >= 16) read by Gather."""
    inits = {i.name: i for i in model.graph.initializer}
    names = []
    for node in model.graph.node:
        init = inits.get(node.input[0]) if node.op_type == "Gather" else None
        if init is not None and len(init.dims) == 2 and init.dims[0] >= MIN_TABLE_ROWS \
                and init.dims[1] >= 16 and init.data_type == onnx.TensorProto.FLOAT:
            names.append(init.name)
    return sorted(set(names))


def quantize_tables(model: onnx.ModelProto) -> onnx.ModelProto:
    """Store each embedding table (V, d) as int8 rows + per-row scales.

    The consumer ``Gather`` is rewritten to gather int8 rows and their scales first and
    dequantize only those rows (B, T, d) - a DequantizeLinear in front of the Gather
    would dequantize the whole 30522 x d table on every call (~5 ms on one core).
    """
    for name in _table_inputs(model):
        w = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == name))
        scale = (np.abs(w).max(axis=1) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        q = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
        keep = [i for i in model.graph.initializer if i.name != name]
        del model.graph.initializer[:]
        model.graph.initializer.extend([
            *keep, numpy_helper.from_array(q, f"{name}_int8"),
            numpy_helper.from_array(scale, f"{name}_scale"),
            numpy_helper.from_array(np.array([-1], np.int64), f"{name}_last_axis")])
        for node in [n for n in model.graph.node if n.op_type == "Gather"
                     and n.input[0] == name]:
            _rewrite_gather(model, node, name)
        log.info("table %s %s -> int8 rows + per-row scales", name, w.shape)
    return model


def _rewrite_gather(model: onnx.ModelProto, node: onnx.NodeProto, name: str) -> None:
    """Gather(table, ids) -> Cast(Gather(table_int8, ids)) * Unsqueeze(Gather(scale, ids))."""
    ids, out, tag = node.input[1], node.output[0], node.name or name
    new = [
        helper.make_node("Gather", [f"{name}_int8", ids], [f"{tag}_q"], name=f"{tag}_gather_q"),
        helper.make_node("Cast", [f"{tag}_q"], [f"{tag}_f"], to=onnx.TensorProto.FLOAT,
                         name=f"{tag}_cast"),
        helper.make_node("Gather", [f"{name}_scale", ids], [f"{tag}_s"],
                         name=f"{tag}_gather_scale"),
        helper.make_node("Unsqueeze", [f"{tag}_s", f"{name}_last_axis"], [f"{tag}_s3"],
                         name=f"{tag}_unsqueeze"),
        helper.make_node("Mul", [f"{tag}_f", f"{tag}_s3"], [out], name=f"{tag}_dequantize"),
    ]
    nodes = list(model.graph.node)
    i = nodes.index(node)
    del model.graph.node[:]
    model.graph.node.extend([*nodes[:i], *new, *nodes[i + 1:]])


def decision_agreement(fp32: Path, int8: Path, tok: Tokenizer, texts: list[str],
                       n_models: int, weights: list[RewardWeights]) -> float:
    """Fraction of (text, weights) pairs where both graphs choose the same model."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sessions = [ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
                for p in (fp32, int8)]
    same, total = 0, 0
    for w in weights:
        for feed in feeds(tok, texts, n_models, batch=64, weights=w):
            a, b = (s.run(["choice"], feed)[0] for s in sessions)
            same += int((a == b).sum())
            total += len(a)
    return same / max(total, 1)
