# The two commands of the README: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck audit unit bench lock clean schemas

# Every file pip installs is checked against its sha256 in the locks (--require-hashes); pip
# itself too (the dev lock pins it), so the venv's own pip is used only to install the locks.
$(STAMP): requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	touch $(STAMP)

## Start the whole system in the foreground (Ctrl-C stops it).
run: $(STAMP)
	$(PY) -m tooling.runner

## Lint, type-check, audit the pinned dependencies and run every test.
test: $(STAMP) lint typecheck audit
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# Known vulnerabilities of every pin in both locks, from PyPI's vulnerability data (the only
# network it needs is PyPI). Fails on a vulnerable pin: upgrade it (`make lock`), or, when no
# fixed release exists, add `--ignore-vuln ID` to AUDIT_IGNORE below with a comment saying why.
# A pin PyPI cannot answer for is listed as skipped; AUDIT_ARGS=--strict makes that fail too.
AUDIT_IGNORE :=
audit: $(STAMP)
	$(PY) -m pip_audit --progress-spinner off --disable-pip --require-hashes \
	  -r requirements.lock -r requirements-dev.lock $(AUDIT_IGNORE) $(AUDIT_ARGS)

## Re-export the events' JSON Schemas to eventing/schemas/.
schemas: $(STAMP)
	$(PY) -m shared.events.export

## Every benchmark (several minutes; needs PostgreSQL and RabbitMQ). Figures: bench/RESULTS.md.
bench: $(STAMP)
	$(PY) -m bench.event_cost
	$(PY) -m bench.event_trust
	$(PY) -m bench.function_start
	$(PY) -m bench.finance_report
	$(PY) -m bench.sale_flow --backend rabbitmq
	$(PY) -m bench.sale_flow --backend memory

## Re-pin dependencies after editing requirements*.in.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile -q --generate-hashes requirements.in -o requirements.lock --python-version 3.11
	$(VENV)/bin/uv pip compile -q --generate-hashes requirements-dev.in -o requirements-dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
