# vdist: `make run` serves, `make test` runs every check. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROTO_SRC := $(wildcard protos/distribution/v1/*.proto)

.PHONY: run test lint typecheck unit protos bench migrate clean

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
