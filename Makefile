# Two entry points: `make run` and `make test`. Both create or reuse .venv and
# install the project from this checkout; nothing else on the machine is assumed.
# Installs are reproducible: requirements.lock holds the exact version of every
# dependency (pyproject.toml keeps the ranges for library users); `make upgrade`
# refreshes it within those ranges and runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
PIP_VERSION := 26.3
SETUPTOOLS_VERSION := 80.9.0
DATA ?= data
DEMO ?= demo-data

.PHONY: run serve test lint bench docs clean system-deps upgrade fuzz

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip==$(PIP_VERSION)' 'setuptools==$(SETUPTOOLS_VERSION)'
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Machine packages the tests and benchmarks use, from Debian: wrk (the HTTP load
# generator), chromium (the browser tests drive it through Playwright; no browser is
# downloaded), nodejs (the tracker's JavaScript unit tests) and openssl (the forwarding
# tests' TLS receiver makes its certificate with it).
SYSTEM_PACKAGES := wrk:wrk chromium:chromium node:nodejs openssl:openssl
system-deps:
	@missing=; for pair in $(SYSTEM_PACKAGES); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; fi

# A newcomer's first look: the server, demo traffic in every dialect, the reports.
run: $(STAMP)
	$(BIN)/trackway demo --data $(DEMO)

serve: $(STAMP)
	$(BIN)/trackway serve --data $(DATA)

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest
	$(BIN)/python bench/core.py --quick
	$(BIN)/python bench/http.py --quick
	$(BIN)/python bench/reports.py --quick
	$(BIN)/python bench/cli.py --quick
	$(BIN)/python bench/freshness.py --quick
	$(BIN)/python bench/loader.py --quick
	$(BIN)/python bench/state_size.py --quick
	$(BIN)/python bench/state_size.py --quick --client-ids
	$(BIN)/python bench/sustained.py --quick
	$(BIN)/python bench/forward.py --quick
	$(BIN)/python bench/forward_latency.py --quick
	$(BIN)/python bench/forward_shared.py --quick
	$(BIN)/python bench/forward_ingest.py --quick
	$(BIN)/python bench/tracker.py --quick
	$(BIN)/python bench/dashboard.py --quick

# Longer coverage-guided fuzzing of every input path (make test runs a bounded share).
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.atheris_main --runs 200000

# The newest releases within pyproject.toml's ranges, written to the lock, then the suite.
upgrade: $(STAMP)
	$(BIN)/pip-compile --quiet --upgrade --extra dev --strip-extras --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml
	$(MAKE) test

lint: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench
	$(BIN)/python -m mypy

bench: $(STAMP) system-deps
	$(BIN)/python bench/core.py
	$(BIN)/python bench/http.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/freshness.py
	$(BIN)/python bench/loader.py
	$(BIN)/python bench/state_size.py
	$(BIN)/python bench/state_size.py --client-ids
	$(BIN)/python bench/sustained.py
	$(BIN)/python bench/forward.py
	$(BIN)/python bench/forward_latency.py
	$(BIN)/python bench/forward_shared.py
	$(BIN)/python bench/forward_ingest.py
	$(BIN)/python bench/tracker.py
	$(BIN)/python bench/dashboard.py

docs: $(STAMP)
	$(BIN)/python -m trackway.docs_gen docs

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
