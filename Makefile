# OpenRuns — `make dev` starts the whole stack, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# worker.py is copied into the (editable) install by force-include: reinstall when it changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml worker.py | cksum | cut -d' ' -f1)

.PHONY: dev test lint typecheck bench test-faults clean

$(STAMP): pyproject.toml worker.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

dev: $(STAMP)  ## the whole stack on this machine (Ctrl-C stops it)
	$(BIN)/openruns dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck  ## the whole suite against a real Temporal dev server
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
