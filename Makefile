# OpenRuns — `make dev` starts the whole stack, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: dev test lint typecheck bench bench-quick test-faults clean

$(STAMP): pyproject.toml
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
	$(BIN)/pytest -m "not faults" $(PYTEST_ARGS)

test-faults: $(STAMP)  ## the long fault-injection runs (200 runs, 300 keys, 100 examples)
	$(BIN)/pytest -m faults -s $(PYTEST_ARGS)

bench: $(STAMP)  ## benchmarks against raw Temporal → docs/benchmarks.md (not part of test)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
