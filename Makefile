# EMMA allele conversion request system
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core graphviz
TEST_DEBS := $(RUN_DEBS) postgresql-15 chromium poppler-utils fonts-dejavu-extra
BENCH_DEBS := $(TEST_DEBS) wrk

.PHONY: install install-dev run lint test bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed  ## create .venv and install the app's requirements

install-dev: $(VENV)/.installed-dev

run: install  ## upgrade the SQLite database, load demo data if empty, serve on 127.0.0.1:5000
	bash scripts/system-deps.sh $(RUN_DEBS)
	$(FLASK) db upgrade
	$(FLASK) seed-if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: install-dev  ## quality gates: ruff (lint + format) and mypy (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install-dev lint  ## the gates, then the whole suite on SQLite and PostgreSQL, browser tests included
	bash scripts/system-deps.sh $(TEST_DEBS)
	bash scripts/test.sh $(PYTEST_ARGS)

bench: install-dev  ## benchmarks; figures go to docs/benchmarks.md
	bash scripts/system-deps.sh $(BENCH_DEBS)
	@if [ -x scripts/bench.sh ]; then bash scripts/bench.sh; else echo "No benchmarks yet."; fi

clean:
	rm -rf $(VENV) instance/*.sqlite3
