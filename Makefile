# Two commands set everything up on a fresh machine:
#   make demo   installs llmstats with the LiteLLM proxy into .venv (nothing else) and runs
#               `llmstats demo`
#   make test   adds the test tools (and chromium and Java when missing) and runs ruff,
#               mypy and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint bench system-deps

# `make test` on a fresh machine: mypy (CPU, ~45 s cold) runs while apt-get (network, disk)
# installs the browser and Java (both print little: no output sync needed).
MAKEFLAGS += --jobs=2

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The demo needs llmstats and the LiteLLM proxy only; the tests add their tools.
$(BIN)/.installed-proxy: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[proxy]'
	touch $@

$(BIN)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

demo: $(BIN)/.installed-proxy
	$(BIN)/llmstats demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy plugin analytics

# System packages some tests drive: Debian's chromium for the HTML report's browser tests
# (Playwright never downloads a browser here) and a Java runtime for the Spark test.
# Installed when missing and we are root with apt-get; otherwise those tests fail with a
# hint (LLMSTATS_SKIP_BROWSER_TESTS=1 skips the browser tests on a developer's machine).
SYSTEM_PACKAGES := chromium:chromium java:openjdk-17-jre-headless

system-deps:
	@for pair in $(SYSTEM_PACKAGES); do \
	  command=$${pair%%:*}; package=$${pair#*:}; \
	  command -v $$command >/dev/null 2>&1 && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q $$package >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null && apt-get install -y -q $$package >/dev/null; }; \
	  else \
	    echo "$$command is missing: apt-get install $$package"; \
	  fi; \
	done

test: lint system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow"
