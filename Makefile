# Two commands matter: `make demo` (the whole pipeline on the embedded default) and
# `make test` (every test). Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The warehouse path SQLMesh's config.yaml reads; absolute, so any working directory works.
export DVD_WAREHOUSE_PATH ?= $(CURDIR)/warehouse/dvdrental.duckdb

.PHONY: help install system-deps demo test test-fast lint unit-test plan-diff clean bench superset superset-bundle bench-large

help:
	@echo "make demo   - start the local PostgreSQL source, load bronze, build silver/gold, print the answers"
	@echo "make test   - run every test (lint, SQLMesh unit tests, then pytest against a real PostgreSQL)"
	@echo "make test-fast - the tests that need no server (pytest -m 'not slow'; under a minute)"
	@echo "make lint   - ruff (lint + format check), mypy on the Python packages, SQLMesh's linter on the models"
	@echo "make clean  - stop the local source and delete local state (.venv kept)"
	@echo "make bench  - performance benchmarks at x1..x600 (minutes; benchmarks/RESULTS.md)"
	@echo "make bench-large - ingest, build, daily at x100/x600/x6000 (hours; ~16 GB source, built once)"
	@echo "make superset - after make demo: the answers in a local Apache Superset on 127.0.0.1:8088"

# PostgreSQL server binaries are the one system dependency the core needs. Installed from
# Debian's packages when we are root and they are missing; otherwise we say what to install.
system-deps:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing PostgreSQL server (apt-get install postgresql)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "PostgreSQL server binaries are missing: install them (e.g. 'sudo apt-get install postgresql'" \
		     "or 'brew install postgresql@16'), or set DVD_SOURCE_DSN to an existing server." >&2; exit 1; \
	fi
	@# Chromium for the browser tests (lineage UI, dashboard); optional: they skip without it (and fail under CI=true).
	@if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: no chromium: the browser tests will be skipped (install Debian's 'chromium' package)"; \
	fi
	@# Java 17 (with keytool) for the local Databricks endpoint (tests/app/local_databricks/test_databricks_connector.py; DVD_SKIP_SPARK=1 skips it).
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Java 17 for Spark (apt-get install openjdk-17-jre-headless)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else \
		echo "note: no java: install Java 17 (e.g. 'sudo apt-get install openjdk-17-jre-headless') for the Spark" \
		     "test, or run it with DVD_SKIP_SPARK=1"; \
	fi

$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/dvdrental demo

# The five answers in Apache Superset (docs in README): Superset gets its own venv under
# .local/superset/ (first run installs it, minutes); `superset-bundle` writes the Preset zip.
superset: install
	$(BIN)/dvdrental superset serve

superset-bundle: install
	$(BIN)/dvdrental superset export-bundle

unit-test: install
	$(BIN)/sqlmesh test

# Python: ruff (lint, then format check) and mypy (packages in pyproject.toml); models: `sqlmesh lint`
# (config.yaml's linter block: SQLMesh's rules plus the project's own in linter/).
PY_SOURCES := foundation dvdrental ingest tests benchmarks macros signals linter
lint: install
	$(BIN)/ruff check $(wildcard $(PY_SOURCES))
	$(BIN)/ruff format --check $(wildcard $(PY_SOURCES))
	$(BIN)/mypy
	$(BIN)/sqlmesh lint

test: install lint
	$(BIN)/sqlmesh test
	$(BIN)/pytest

# A developer's loop (under a minute): the tests that need no PostgreSQL, Spark, browser or Superset.
test-fast: install
	$(BIN)/pytest -m "not slow"

# What the working tree's model changes do against prod: artifacts/plan-diff.md (docs/operations.md).
# BASE=<git ref> builds that ref's prod on a scratch warehouse first (what CI does).
plan-diff: install
	$(BIN)/dvdrental plan-diff --print $(if $(BASE),--base-ref $(BASE))

clean:
	-$(BIN)/dvdrental source stop
	rm -rf .local warehouse logs artifacts

# Benchmarks (minutes, not part of `make test`): scaled sources are built once and reused;
# tables print here and in benchmarks/results/*-latest.md, JSON lines in benchmarks/results/.
bench: install
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/dvdrental source start
	@mkdir -p benchmarks/results
	set -o pipefail; $(BIN)/python -m benchmarks.bench_ingest | tee benchmarks/results/ingest-latest.md
	set -o pipefail; $(BIN)/python -m benchmarks.profile_loader --factor 600 | tee benchmarks/results/profile-latest.md
	set -o pipefail; $(BIN)/python -m benchmarks.bench_build | tee benchmarks/results/build-latest.md

# The x6000 scale (96 M rentals, ~16 GB in PostgreSQL, built once and reused), one run per step under
# the default memory limit; never part of `make test`. Writes benchmarks/large.png when matplotlib is there.
bench-large: install
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/dvdrental source start
	$(BIN)/dvdrental source scale --factor 6000
	@mkdir -p benchmarks/results
	set -o pipefail; $(BIN)/python -m benchmarks.bench_large | tee benchmarks/results/large-latest.md
