# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/tokhai dev-setup
	$(BIN)/flask --app wsgi:app run --host $(HOST) --port $(PORT)

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

bench: $(DEV_STAMP)
	$(BIN)/python bench/compile_forms.py
	$(BIN)/python bench/validate_submission.py
	$(BIN)/python bench/import_records.py
	$(BIN)/python bench/prefill.py
	$(BIN)/python bench/dossiers.py

clean:
	rm -rf $(VENV) var
