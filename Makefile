# `make demo` and `make test` do all the set-up themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TAPS := $(wildcard tap-analytics-[a-e])
PACKAGES := tap-analytics-common $(TAPS) sandbox orchestration

.PHONY: setup demo test unit lint clean bench bench-e2e dist generate

setup: $(VENV)/.ready $(VENV)/.taps

# UV_COMPILE_BYTECODE: uv (Meltano's installer) writes no bytecode unless asked, so where
# PYTHONDONTWRITEBYTECODE is set every tap and target start would compile its imports again.
$(VENV)/.ready: constraints.txt meltano.yml VERSION $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt \
		$(foreach p,$(PACKAGES),-e ./$(p)) \
		meltano pytest requests-mock ruff mypy types-requests types-PyYAML "psycopg[binary]" duckdb build
	UV_COMPILE_BYTECODE=1 $(BIN)/meltano install --plugin-type loader
	touch $@

# Meltano installs the taps from the checkout, not editable (it caches discovered catalogs only
# for such installs, which saves a tap start in every `meltano run`): installed again whenever
# their code or schemas change, their cached catalogs dropped.
TAP_FILES := $(shell find tap-analytics-common $(TAPS) -type f \( -name '*.py' -o -name '*.json' \
	-o -name pyproject.toml \) -not -path '*/build/*' -not -path '*.egg-info/*')

$(VENV)/.taps: $(VENV)/.ready $(TAP_FILES)
	UV_COMPILE_BYTECODE=1 $(BIN)/meltano install --plugin-type extractor
	rm -f .meltano/run/tap-analytics-*/tap.properties.cache_key
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

# End to end into PostgreSQL against dlt (benchmarks/README.md); dlt gets its own environment.
DLT_VENV := .venv-dlt

bench-e2e: setup $(DLT_VENV)/.ready
	$(BIN)/python benchmarks/e2e.py

$(DLT_VENV)/.ready: benchmarks/constraints-dlt.txt
	test -x $(DLT_VENV)/bin/python || $(PYTHON) -m venv $(DLT_VENV)
	$(DLT_VENV)/bin/python -m pip install --quiet -c benchmarks/constraints-dlt.txt "dlt[postgres]"
	touch $@

clean:
	rm -rf $(VENV) $(DLT_VENV) .meltano output dist
