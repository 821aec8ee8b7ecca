# `make demo` and `make test` do all the set-up themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TAPS := $(wildcard tap-analytics-[a-e])
PACKAGES := tap-analytics-common $(TAPS) sandbox orchestration

.PHONY: setup demo test unit lint clean bench dist generate

setup: $(VENV)/.ready

$(VENV)/.ready: constraints.txt meltano.yml VERSION $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt \
		$(foreach p,$(PACKAGES),-e ./$(p)) \
		meltano pytest requests-mock ruff mypy types-requests types-PyYAML "psycopg[binary]" duckdb build
	$(BIN)/meltano install
	touch $@

demo: setup
	$(BIN)/python scripts/demo.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES) tests benchmarks scripts

test: lint
	$(BIN)/python -m pytest

# The quick loop: every test that needs neither PostgreSQL nor Meltano.
unit: setup
	$(BIN)/python -m pytest -m "not postgres and not meltano"

# A wheel and an sdist of every package into dist/ (the version is the root VERSION file).
dist: setup
	rm -rf dist
	$(foreach p,$(PACKAGES),$(BIN)/python -m build --outdir dist ./$(p) &&) true

# After changing a tap's settings: its README table, its plugin.yml and meltano.yml's extractors.
generate: setup
	$(BIN)/python scripts/plugin_definitions.py
	$(BIN)/python scripts/readme_settings.py

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .meltano output dist
