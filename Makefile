# olo: `make run` (embedded PostgreSQL, demo data, http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/olo serve --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

schema: $(STAMP)
	$(BIN)/olo schema --write schema.graphql

test: $(STAMP) lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .olo .pytest_cache .mypy_cache .ruff_cache
