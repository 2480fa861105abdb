# The two commands a new machine needs: `make run` (serve) and `make test` (every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: run test install install-dev bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Serving needs neither TensorFlow nor LiteRT nor Vela.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Tests build real models: TensorFlow, LiteRT and Vela come with the `data` extra.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[data,dev]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed-run
	$(BIN)/edgeperf serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/reader.py
	$(BIN)/python bench/hwmodels.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check predictor hwmodels dataset api tests bench

clean:
	rm -rf $(VENV) tests/.model-cache .pytest_cache
