# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DATABASE_URL ?= sqlite:///$(CURDIR)/instance/survey.db
# With REDIS_URL set, `make run` starts this many report workers beside the web server.
REPORT_WORKERS ?= 1

.PHONY: run test lint typecheck bench clean-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

## run: install, create and fill the database on first use, serve on http://127.0.0.1:5000
## (development mode only relaxes the Secure cookie flag, so sign-in works over plain http).
## With REDIS_URL set, report workers run beside it (stopped with it); without, the web
## server renders reports itself.
run: $(STAMP) instance/secret_key
	SECRET_KEY=$$(cat instance/secret_key) $(BIN)/survey-app setup-demo
	export SURVEY_APP_ENV=development SECRET_KEY=$$(cat instance/secret_key); \
	if [ -n "$$REDIS_URL" ]; then \
		for worker in $$(seq $(REPORT_WORKERS)); do $(BIN)/survey-app worker & done; \
		trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	fi; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

## test: install with the dev extra; lint, type-check, then run the whole suite
test: lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/stats.py --database both

clean-db:
	rm -f instance/survey.db
