# The two commands a newcomer needs: `make run` and `make test`; then `make demo` (with `make run`
# serving in another terminal) shows the whole pipeline, request by request.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 5000
FUZZ_SECONDS ?= 300

#: tools the suite runs against signed PDFs, their QR codes and the PKCS#11 token, the browser
#: the pages' tests drive (Debian; Playwright's own browser download does not work here), and
#: Tesseract with its Vietnamese model, which reads scanned forms for `tokhai forms import-pdf`
SYSTEM_TOOLS := qpdf pdfsig pdftoppm softhsm2-util pkcs11-tool zbarimg chromium tesseract
SYSTEM_PACKAGES := qpdf poppler-utils softhsm2 opensc zbar-tools chromium tesseract-ocr tesseract-ocr-vie

.PHONY: run demo test lint bench fuzz clean system-packages translations rjsf

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

# the explicit start-up steps (create_app takes none): migrate, publish the catalogue, then the
# development set-up (installation secret, demo records, tokens, signing keys), then serve the
# pages and the API with the development sign-in, and the worker beside it (archiving, e-mails
# written to var/mail); Ctrl-C stops both
run: $(STAMP)
	$(BIN)/tokhai db upgrade
	$(BIN)/tokhai forms load
	HOST=$(HOST) PORT=$(PORT) $(BIN)/tokhai dev-setup
	export TOKHAI_DEV_SIGNIN=1 TOKHAI_INSECURE_COOKIES=1 TOKHAI_MAIL_DIR=var/mail \
	  TOKHAI_PUBLIC_URL=http://$(HOST):$(PORT); \
	$(BIN)/tokhai worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app wsgi:app run --host $(HOST) --port $(PORT)

# the walkthrough: a plain HTTP client of the service `make run` serves in another terminal
# (same HOST and PORT); files, processes, issues, downloads and verifies one dossier
demo: $(STAMP)
	$(BIN)/python -m service.walkthrough --url http://$(HOST):$(PORT)

# the independent PDF checkers and SoftHSM2; installed with apt when missing (CI runs as root)
system-packages:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing $(SYSTEM_PACKAGES) from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

# react-jsonschema-form 5.x and 6.x (tests/rjsf/v5, v6: pinned by their package-lock.json) with
# the test page, bundled for tests/forms/test_rjsf.py; npm runs only when a lock file changed,
# so a built tree needs no network
RJSF_BUNDLES := tests/rjsf/v5/dist/rjsf.js tests/rjsf/v6/dist/rjsf.js

tests/rjsf/%/node_modules/.package-lock.json: tests/rjsf/%/package-lock.json
	cd tests/rjsf/$* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tests/rjsf/%/dist/rjsf.js: tests/rjsf/%/node_modules/.package-lock.json tests/rjsf/%/entry.js tests/rjsf/page.js
	cd tests/rjsf/$* && ./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife \
	  --define:process.env.NODE_ENV='"production"' --log-level=warning --outfile=dist/rjsf.js

rjsf: $(RJSF_BUNDLES)

test: $(DEV_STAMP) system-packages rjsf
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# schemathesis against the OpenAPI document with every role's token, PDF endpoints with real
# and mutated signed PDFs, for FUZZ_SECONDS; `make test` runs a short version of it
# (tests/fuzz/test_fuzz.py, FUZZ_SHORT_SECONDS per database)
fuzz: $(DEV_STAMP)
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS)

# the pages' English catalogues compiled (.po -> .mo), and the strings still untranslated
translations: $(STAMP)
	$(BIN)/python -m service.web.pages.i18n

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python bench/compile_forms.py
	$(BIN)/python bench/validate_submission.py
	$(BIN)/python bench/import_records.py
	$(BIN)/python bench/prefill.py
	$(BIN)/python bench/dossiers.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/office_pages.py
	$(BIN)/python bench/issuance.py
	$(BIN)/python bench/repository.py
	$(BIN)/python bench/import_pdf.py

clean:
	rm -rf $(VENV) var tests/rjsf/*/node_modules tests/rjsf/*/dist
