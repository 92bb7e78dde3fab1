# The few things people do with veille. `make test` and `make serve` set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
VEILLE := $(VENV)/bin/veille
MODEL := models/multilingual-e5-small
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup test serve index lint bench bench-full browser clean

# torch first, from the CPU wheel this machine carries; otherwise pip would fetch a CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(MODEL)/veille-model.json: $(VENV)/.installed
	$(VEILLE) model build --dest $(MODEL)

setup: $(MODEL)/veille-model.json

# Debian's chromium for the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

index: setup
	$(VEILLE) index build

test: setup browser
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
