# KOL Lakehouse — two commands set everything up: `make setup` then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := openjdk-17-jre-headless libxerial-sqlite-jdbc-java libpostgresql-jdbc-java \
	redis-server redis-tools kcat chromium postgresql
PYTEST_ARGS ?=
# Two pytest workers (pytest-xdist), a test file at a time each: module fixtures (the live Airflow) stay whole,
# and a Spark or Airflow run waiting on one worker leaves the other core to the next file. (Three workers on two
# cores: no faster, and the broker starved a consumer past its stall timeout.) Files go out in collection order
# (longest first, tests/conftest.py), not xdist's default by number of tests, which sent the long one-test e2e
# files last: one worker ran them alone at the end.
TEST_WORKERS ?= 2

.PHONY: help setup system venv provision test test-cluster test-unit lint docs demo serve bench mutation up down status lock clean

help:
	@echo "make setup   install system packages, .venv, jars, catalog, Airflow DB (safe to re-run)"
	@echo "make test    run the test suite (unit + integration + e2e, real services)"
	@echo "make test-cluster  the cluster profile: PostgreSQL, Spark standalone, Redis with a password"
	@echo "make demo    run kol_platform_e2e on the embedded services and print the readiness report"
	@echo "make serve   run the platform as a service: embedded broker + Redis + airflow standalone (UI :8080)"
	@echo "make bench   run the benchmarks, JSON to bench/results/"
	@echo "make mutation  mutation score per core module (mutmut), JSON to bench/results/mutation.json"
	@echo "make lint    ruff, the import-linter layer contracts and the type checker (mypy)"
	@echo "make docs    build the docs site (mkdocs --strict) into .state/site"

setup: system venv provision
	@echo "setup: done. Next: make test, make demo"

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "system: all packages present"; exit 0; fi; \
	echo "system: installing$$missing"; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	$$SUDO apt-get update -q >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null \
	  || { echo "system: ERROR could not install:$$missing (needs apt and root or sudo)"; exit 1; }; \
	echo "system: installed$$missing"

venv:
	@command -v $(PYTHON) >/dev/null || { echo "venv: ERROR $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@[ -x $(BIN)/python ] || { $(PYTHON) -m venv $(VENV) && echo "venv: created $(VENV)"; }
	@$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]" 2>&1 \
	  | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import lakehouse, airflow, pyspark, pyiceberg, great_expectations" >/dev/null 2>&1 \
	  || { $(BIN)/python -c "import lakehouse, airflow, pyspark, pyiceberg, great_expectations"; \
	       echo "venv: ERROR the project did not install"; exit 1; }
	@! $(BIN)/pip list 2>/dev/null | grep -qi "^pyspark-client" \
	  || { echo "venv: ERROR pyspark-client is installed and breaks classic pyspark"; exit 1; }
	@echo "venv: $(VENV) ready ($$($(BIN)/python --version), airflow $$($(BIN)/python -c 'import airflow; print(airflow.__version__)'))"

provision:
	@$(BIN)/lakehouse setup

test:
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The cluster profile alone (PostgreSQL, Spark standalone, Redis with a password): 5:20. `make test` runs it too.
test-cluster:
	@$(BIN)/python -m pytest -m cluster $(PYTEST_ARGS)

test-unit:
	@$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint:
	@$(BIN)/ruff check src dags plugins spark_jobs tests bench
	@$(BIN)/lint-imports --no-cache
	@$(BIN)/mypy

# The docs site: reference pages generated from the code (docs/gen_reference.py); --strict fails on a broken
# link or a page missing from nav. The test suite builds it too (tests/unit/test_docs.py).
docs:
	@NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet --site-dir .state/site \
	  && echo "docs: .state/site/index.html"

demo:
	@$(BIN)/lakehouse demo $(DEMO_ARGS)

# The platform as a service on the embedded default: broker, Redis and `airflow standalone` (UI on :8080).
serve:
	@$(BIN)/lakehouse serve $(SERVE_ARGS)

BENCHMARKS := ingest etl quality ml serving maintenance scores e2e transform erasure
# `make bench`, `make bench maintenance` (names as goals) or `make bench BENCH_ARGS=etl`
bench:
	@$(BIN)/python -m bench $(BENCH_ARGS) $(filter $(BENCHMARKS),$(MAKECMDGOALS))
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCHMARKS):
	@:
endif

# Mutation testing of the modules whose rules are the product ([tool.mutmut] in pyproject.toml): a score per
# module, the surviving mutants' diffs, exit 1 under 80 %. Not part of `make test`. Re-runs only what changed.
mutation:
	@$(BIN)/python -m bench.mutation $(MUTATION_ARGS)

up:
	@$(BIN)/lakehouse up
down:
	@$(BIN)/lakehouse down
status:
	@$(BIN)/lakehouse status

# Re-freeze constraints.txt after changing pins in pyproject.toml.
lock:
	@rm -rf /tmp/kol-lock && $(PYTHON) -m venv /tmp/kol-lock && /tmp/kol-lock/bin/pip install -q -e ".[dev]" \
	  && /tmp/kol-lock/bin/pip freeze --exclude-editable > constraints.txt && echo "lock: constraints.txt updated"

clean:
	rm -rf .state
