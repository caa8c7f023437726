# OpenRuns — `make dev` starts the whole stack, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The tests' PostgreSQL: the server at OPENRUNS_TEST_PG_DSN, or a throw-away one made from this
# machine's PostgreSQL binaries when nothing answers there (tests/helpers/local_postgres.py).
WITH_PG := $(BIN)/python -m tests.helpers.local_postgres

.PHONY: dev test test-sqlite test-postgres lint typecheck bench bench-quick test-faults clean

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

# `make test` runs the whole suite twice, once per metadata store, one after the other: the
# suite is short (minutes), and two pytest runs side by side on two shared cores would only
# make timing-sensitive tests slower. The second pass skips the e2e tests: they pick their own
# store (make dev: SQLite; the replica tests: always PostgreSQL). The long fault-injection runs
# are `make test-faults`; `make test` keeps a fast version of each.
test: $(STAMP) lint typecheck test-sqlite test-postgres  ## lint, types, then every test on both stores

test-sqlite: $(STAMP)  ## the whole suite with SQLite metadata (the default store)
	$(WITH_PG) $(BIN)/pytest -m "not faults" $(PYTEST_ARGS)

test-faults: $(STAMP)  ## the long fault-injection runs (200 runs, 300 keys, 100 examples)
	$(WITH_PG) $(BIN)/pytest -m faults -s $(PYTEST_ARGS)

test-postgres: $(STAMP)  ## the suite with PostgreSQL metadata (a fresh database per test)
	OPENRUNS_TEST_DATABASE=postgres $(WITH_PG) $(BIN)/pytest -m "not e2e and not faults" $(PYTEST_ARGS)

bench: $(STAMP)  ## benchmarks against raw Temporal → docs/benchmarks.md (not part of test)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
