# The two commands of the README: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck audit unit bench lock clean schemas mutation backup restore

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

## Back up the whole database (embedded or DATABASE_URL) and the keys to backups/ (README, "Backups").
backup: $(STAMP)
	$(PY) -m tooling.backup backup

## Restore a backup into an empty data directory (and database): make restore FILE=backups/....tar.gz
restore: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/acougue-<time>.tar.gz"; exit 2; }
	$(PY) -m tooling.backup restore "$(FILE)"

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
	$(PY) -m tooling.schemas

## Every benchmark (about half an hour on a quiet machine; needs PostgreSQL and RabbitMQ),
## then issue 16's scorecard: each figure beside its target with ✔/✘ (`python -m
## bench.scorecard` prints it again; figures kept in bench/scorecard.json, the sale flow's
## from the RabbitMQ run only). Figures of record: bench/RESULTS.md.
bench: $(STAMP)
	$(PY) -m bench.event_cost
	$(PY) -m bench.event_trust
	$(PY) -m bench.function_start
	$(PY) -m bench.cold_start
	$(PY) -m bench.scale_to_zero
	$(PY) -m bench.finance_report
	$(PY) -m bench.sale_flow --backend rabbitmq
	$(PY) -m bench.sale_flow --backend memory
	$(PY) -m bench.scorecard

## Mutation testing of the pure modules with mutmut (about 5 minutes on 2 cores; not part of
## `make test`). What it mutates and which tests it runs: [tool.mutmut] in pyproject.toml. It
## starts afresh in mutants/ (a copy of the project, ignored by git, ruff, mypy and pytest),
## lists every mutant not killed with its status (`.venv/bin/mutmut show NAME` prints the
## change), then killed/total per module, and fails below MUTATION_MIN percent killed (a
## timeout counts as killed). Figures: bench/RESULTS.md.
MUTATION_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MUTATION_MIN ?= 90
mutation: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS)
	@set -o pipefail; $(VENV)/bin/mutmut results --all true | awk -v min=$(MUTATION_MIN) ' \
	  { name = $$1; sub(/:$$/, "", name); status = $$0; sub(/^[^:]*: /, "", status); \
	    mod = name; sub(/\.[^.]*__mutmut_[0-9]+$$/, "", mod); \
	    if (status == "skipped") next; \
	    if (!(mod in total)) order[++n] = mod; \
	    total[mod]++; all++; \
	    if (status == "killed" || status == "timeout" || status == "caught by type check") { killed[mod]++; k++ } \
	    else print "  " status ": " name } \
	  END { print ""; \
	    for (i = 1; i <= n; i++) printf "  %-34s %4d/%-4d killed  %5.1f %%\n", order[i], killed[order[i]], total[order[i]], 100 * killed[order[i]] / total[order[i]]; \
	    if (!all) { print "no mutants"; exit 1 } \
	    printf "  %-34s %4d/%-4d killed  %5.1f %% (minimum %s %%)\n", "all", k, all, 100 * k / all, min; \
	    exit (100 * k / all < min) }'

## Re-pin dependencies after editing requirements*.in.
# Extras stay in the locks (`cachecontrol[filecache]==...`): with them stripped, pip in
# --require-hashes mode resolves a dependency's `CacheControl[filecache]>=0.13.0` to the
# newest release on PyPI instead of the pin, and the install fails once one appears.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile -q --generate-hashes --no-strip-extras requirements.in -o requirements.lock --python-version 3.11
	$(VENV)/bin/uv pip compile -q --generate-hashes --no-strip-extras requirements-dev.in -o requirements-dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
