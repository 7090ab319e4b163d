"""Export the hit verifier: ONNX graph + manifest + tokenizer, and the parity check.

``OUT_DIR/verifier.onnx`` (opset 20, dynamic batch and both sequence axes; the manifest
in metadata_props["lmroute_cache_verifier"]), ``OUT_DIR/manifest.json`` and
``OUT_DIR/tokenizer.json``. ``onnx_sha256`` hashes the serialized graph (not the
metadata), as for the router. ``check_parity`` compares ONNX Runtime with PyTorch on
random token pairs (uniform ids, random lengths and padding) and real pairs.
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from tokenizers import Tokenizer

from router_model.export import graph_sha256
from router_model.tokenization import save_tokenizer
from serve.cache.verifier import FORMAT_VERSION, KIND, METADATA_KEY
from train.cache_fit import PairModel
from train.cache_model import INPUT_NAMES, OUTPUT_NAMES

log = logging.getLogger(__name__)
OPSET = 20


def random_pairs(n: int, vocab: int, max_len: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n random padded pairs: ids_a/mask_a (n, Ta), ids_b/mask_b (n, Tb) int64."""
    rng = np.random.default_rng(seed)
    out = {}
    for side in ("a", "b"):
        lengths = rng.integers(3, max_len + 1, size=n)
        t = int(lengths.max())
        mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
        ids = rng.integers(1000, vocab, size=(n, t)) * mask
        ids[:, 0] = 101
        ids[np.arange(n), lengths - 1] = 102
        out[f"ids_{side}"], out[f"mask_{side}"] = ids, mask
    return out


def export_onnx(model: PairModel, path: Path, exporter: str = "dynamo") -> None:
    """Write the verifier as one self-contained ONNX file."""
    model = model.eval()
    ex = random_pairs(2, model.vocab_size, 9)
    args = tuple(torch.from_numpy(ex[k]) for k in INPUT_NAMES)
    if exporter == "dynamo":
        b, ta, tb = torch.export.Dim("B"), torch.export.Dim("Ta"), torch.export.Dim("Tb")
        kw: dict[str, Any] = {"dynamo": True, "dynamic_shapes": {
            "ids_a": {0: b, 1: ta}, "mask_a": {0: b, 1: ta},
            "ids_b": {0: b, 1: tb}, "mask_b": {0: b, 1: tb}}}
    elif exporter == "legacy":
        kw = {"dynamo": False, "dynamic_axes": {
            "ids_a": {0: "B", 1: "Ta"}, "mask_a": {0: "B", 1: "Ta"},
            "ids_b": {0: "B", 1: "Tb"}, "mask_b": {0: "B", 1: "Tb"},
            "logit": {0: "B"}, "probability": {0: "B"}}}
    else:
        raise ValueError(f"export.exporter: expected 'dynamo' or 'legacy', got {exporter!r}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), input_names=list(INPUT_NAMES),
                          output_names=list(OUTPUT_NAMES), opset_version=OPSET, **kw)
    proto = onnx.load(str(path))
    onnx.save_model(proto, str(path), save_as_external_data=False)
    side = path.with_name(path.name + ".data")
    if side.exists():
        side.unlink()
    onnx.checker.check_model(str(path))


@torch.inference_mode()
def check_parity(model: PairModel, onnx_path: Path, feeds: dict[str, np.ndarray]
                 ) -> dict[str, float]:
    """Max |ONNX - torch| of logit and probability on ``feeds``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(list(OUTPUT_NAMES), feeds)
    ref = model.eval()(*(torch.from_numpy(feeds[k]) for k in INPUT_NAMES))
    return {f"max_abs_{name}": float(np.abs(g.astype(np.float64) - r.numpy()).max())
            for name, g, r in zip(OUTPUT_NAMES, got, ref, strict=True)}


def write_artifact(model: PairModel, out_dir: Path, tok: Tokenizer, max_tokens: int,
                   info: dict[str, Any], exporter: str = "dynamo",
                   parity_samples: int = 64) -> dict[str, Any]:
    """Export, check parity, write the manifest (``info`` adds its sections); returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "verifier.onnx"
    export_onnx(model, path, exporter)
    parity = check_parity(model, path, random_pairs(parity_samples, model.vocab_size,
                                                    max_tokens, seed=1))
    manifest = {"kind": KIND, "format_version": FORMAT_VERSION,
                "inputs": list(INPUT_NAMES), "outputs": list(OUTPUT_NAMES),
                "tokenizer": {"sha256": save_tokenizer(tok, out_dir / "tokenizer.json"),
                              "max_tokens": max_tokens},
                "parity": parity,
                "created_utc": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    proto = onnx.load(str(path))
    manifest["onnx_sha256"] = graph_sha256(proto)
    text = json.dumps(manifest, indent=2, sort_keys=True)
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, text
    onnx.save_model(proto, str(path))
    (out_dir / "manifest.json").write_text(text + "\n")
    log.info("wrote %s (parity %s)", out_dir, parity)
    return manifest
