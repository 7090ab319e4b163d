"""``python -m serve.backends.llamacpp_main [llama_cpp.server args]``: llama-cpp-python's
OpenAI-compatible server with ggml's *extra buffer types* (weight repacking, and the AMX
matmul kernels on CPUs that report AMX) switched off unless ``LMROUTE_LLAMA_EXTRA_BUFTS=1``.

Why: llama-cpp-python 0.3.36 built natively on this project's VMs (Xeon with AMX-INT8)
segfaults in ``ggml_backend_amx_mul_mat`` on the first decode of both packaged GGUFs
(Gemma 3 270M Q4_K_M, SmolLM2-135M Q4_1); gdb backtrace in docs/serve.md. The server
exposes no flag for ``llama_model_params.use_extra_bufts`` (llama.cpp's ``--no-repack``),
so this launcher sets it in the default model params before the server loads the model.
"""

from __future__ import annotations

import os
import sys


def _patch_default_params() -> None:
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def without_extra_bufts() -> object:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_bufts


def main() -> None:
    if os.environ.get("LMROUTE_LLAMA_EXTRA_BUFTS") != "1":
        _patch_default_params()
    from llama_cpp.server.__main__ import main as server_main

    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    server_main()


if __name__ == "__main__":
    main()
