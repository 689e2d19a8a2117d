# Two commands set everything up on a fresh machine:
#   make demo   installs llmstats with the LiteLLM proxy into .venv and runs `llmstats demo`
#   make test   installs the test tools (and Debian's chromium when missing) and runs ruff,
#               mypy and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint bench chromium

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

# The HTML report's browser tests drive Debian's chromium (Playwright never downloads a
# browser here). Installed when missing and we are root with apt-get; otherwise those tests
# fail with a hint (LLMSTATS_SKIP_BROWSER_TESTS=1 skips them on a developer's machine).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else \
	    echo "chromium is missing: apt-get install chromium (or LLMSTATS_SKIP_BROWSER_TESTS=1)"; \
	  fi; }

test: lint chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow"
