# vdist: `make run` serves, `make test` runs every check. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROTO_SRC := $(wildcard protos/distribution/v1/*.proto)

.PHONY: run test lint typecheck unit protos bench migrate clean chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/vdist serve

migrate: $(STAMP)
	$(BIN)/vdist migrate

test: $(STAMP) lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check server allocator persistence tests bench
	$(BIN)/ruff format --check server allocator persistence tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy server allocator persistence

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# Regenerates distribution/v1 from protos/; tests/unit/test_protos_fresh.py fails when it is stale.
protos: $(STAMP)
	$(BIN)/python protos/generate.py

# The allocator table, then AutoDistribute over gRPC at M on PostgreSQL and SQLite.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.grpc_autodistribute --size M --repeat 3

# Three replicas on a private PostgreSQL cluster under load, kill -9 and database restarts,
# then every invariant checked in SQL (docs/operations.md, "Chaos test"). Not part of `test`.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.run $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
