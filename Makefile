# Two commands set everything up on a fresh machine:
#   make demo   installs llmstats with the LiteLLM proxy into .venv and runs `llmstats demo`
#   make test   installs the test tools and runs ruff, mypy and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint bench

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/llmstats demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy plugin analytics

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow"
