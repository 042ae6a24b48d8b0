# The two commands of the README: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench lock clean schemas

$(STAMP): requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock -r requirements-dev.lock
	touch $(STAMP)

## Start the whole system in the foreground (Ctrl-C stops it).
run: $(STAMP)
	$(PY) -m tooling.runner

## Lint, type-check and run every test.
test: $(STAMP) lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

## Re-export the events' JSON Schemas to eventing/schemas/.
schemas: $(STAMP)
	$(PY) -m shared.events.export

## Every benchmark (several minutes; needs PostgreSQL and RabbitMQ). Figures: bench/RESULTS.md.
bench: $(STAMP)
	$(PY) -m bench.event_cost
	$(PY) -m bench.function_start
	$(PY) -m bench.finance_report
	$(PY) -m bench.sale_flow --backend rabbitmq
	$(PY) -m bench.sale_flow --backend memory

## Re-pin dependencies after editing requirements*.in.
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile -q requirements.in -o requirements.lock --python-version 3.11
	$(VENV)/bin/uv pip compile -q requirements-dev.in -o requirements-dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
