# `make demo` and `make test` do all the set-up themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TAPS := $(wildcard tap-analytics-[a-e])
PACKAGES := tap-analytics-common $(TAPS) sandbox orchestration

.PHONY: setup demo test lint clean bench

setup: $(VENV)/.ready

$(VENV)/.ready: constraints.txt meltano.yml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt \
		$(foreach p,$(PACKAGES),-e ./$(p)) \
		meltano pytest requests-mock ruff mypy types-requests types-PyYAML "psycopg[binary]" duckdb
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

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .meltano output
