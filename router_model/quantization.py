"""int8 QDQ variant of the router graph (the form NPU execution providers take).

Static quantization with ONNX Runtime: weights int8 (per channel), activations
calibrated on training queries (MinMax). The static table (Gather) and the MLP
(Gemm / MatMul) are quantized; the decision arithmetic stays in float so the
utility comparison is not itself quantized. ``decision_agreement`` measures how often
the int8 graph picks the same model as fp32 on held-out queries.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from tokenizers import Tokenizer

from router_model.reward import RewardWeights
from router_model.tokenization import encode

log = logging.getLogger(__name__)
QUANTIZED_OPS = ["Gather", "Gemm", "MatMul"]


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
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre), str(out), _Reader(list(feeds(tok, calibration_texts, n_models))),
            quant_format=QuantFormat.QDQ, op_types_to_quantize=QUANTIZED_OPS,
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            extra_options={"WeightSymmetric": True})
    log.info("wrote int8 QDQ graph %s", out)


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
