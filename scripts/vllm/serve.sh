#!/usr/bin/env bash
# Serve the converted Gemma 3 270M with vLLM's CPU build (OpenAI-compatible, 127.0.0.1).
#   scripts/vllm/serve.sh [extra vLLM args...]
# Env: VLLM_PORT (8000), VLLM_MODEL_DIR (.cache/vllm/gemma-3-270m),
#      VLLM_SERVED_NAME (gemma-3-270m), VLLM_MAX_MODEL_LEN (2048), VLLM_DTYPE (float32),
#      VLLM_CHAT_TEMPLATE (base_chat_template.jinja: the base model has no chat turns),
#      VLLM_CPU_KVCACHE_SPACE (GiB of KV cache, 1 fits a 2-core/24 GB machine).
# `python -m vllm.entrypoints.openai.api_server` is used because the `vllm` console
# script of the vllm-cpu distribution fails (it looks up the `vllm` distribution name).
# For a quantized production model (AWQ/GPTQ/FP8) set VLLM_MODEL_DIR to it and pass
# e.g. `--quantization awq` (see docs/vllm.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
MODEL_DIR="${VLLM_MODEL_DIR:-$ROOT/.cache/vllm/gemma-3-270m}"
[[ -x "$VENV/bin/python" ]] || { echo "serve.sh: $VENV missing: run scripts/vllm/setup.sh" >&2; exit 2; }
[[ -f "$MODEL_DIR/config.json" ]] || { echo "serve.sh: no model at $MODEL_DIR: run scripts/vllm/setup.sh" >&2; exit 2; }
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
exec "$VENV/bin/python" -m vllm.entrypoints.openai.api_server \
  --model "$MODEL_DIR" \
  --served-model-name "${VLLM_SERVED_NAME:-gemma-3-270m}" \
  --host 127.0.0.1 --port "${VLLM_PORT:-8000}" \
  --dtype "${VLLM_DTYPE:-float32}" \
  --max-model-len "${VLLM_MAX_MODEL_LEN:-2048}" \
  --chat-template "${VLLM_CHAT_TEMPLATE:-$ROOT/scripts/vllm/base_chat_template.jinja}" \
  "$@"
