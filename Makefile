# The two commands of the README: `make demo` and `make test`. Everything else is a step of theirs
# or an operator's tool. Targets are file-based so a second run skips what is already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The Sparkplug B edge node the tests talk to: pysparkplug's client on paho-mqtt 1 (see
# requirements-sparkplug-client.txt), apart from the app's paho-mqtt 2.
SPARKPLUG_VENV := .venv-sparkplug
HOST ?= 127.0.0.1
PORT ?= 8000
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.js 2>/dev/null)

.PHONY: demo test test-frontend test-e2e browser lint format venv frontend migrate seed demo-models models run-demo serve clean bench-ingest bench-ingest-listeners bench-notifications bench-scoring-partitions tour-payloads bench-storage-formats bench-storage bench-models bench-scoring bench-transfer bench-learning bench-charts bench-system bench-dates bench-partitions

demo: venv frontend migrate seed demo-models run-demo

# Every stage runs even when one before it failed, so that one run shows every failure; the command
# still exits non-zero, naming the stages that failed.
test: venv $(SPARKPLUG_VENV)/.installed
	@failed=""; \
	$(MAKE) --no-print-directory lint || failed="$$failed lint"; \
	$(BIN)/pytest || failed="$$failed pytest"; \
	$(MAKE) --no-print-directory test-frontend || failed="$$failed vitest"; \
	$(MAKE) --no-print-directory test-e2e || failed="$$failed e2e"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: lint, pytest, vitest and e2e passed"

# The dashboard's unit tests (Vitest, jsdom).
test-frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm test

# The dashboard end to end in Chromium against the one-process demo (see frontend/e2e/).
test-e2e: venv frontend browser
	cd frontend && MAINTAINX_PYTHON=$(abspath $(BIN))/python npm run e2e

browser:
	frontend/e2e/browser-install.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@

$(SPARKPLUG_VENV)/.installed: requirements-sparkplug-client.txt
	test -x $(SPARKPLUG_VENV)/bin/python || $(PYTHON) -m venv $(SPARKPLUG_VENV)
	$(SPARKPLUG_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sparkplug-client.txt
	touch $@

frontend: frontend/dist/index.html

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend/dist/index.html: frontend/node_modules/.package-lock.json frontend/package.json $(FRONTEND_SOURCES)
	cd frontend && npm run build

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: venv
	$(BIN)/python manage.py seed_demo

# The demo's models: trained from 30 simulated days the first time, kept afterwards; and a challenger
# forest (another seed, 20 days) that scores in shadow beside the active one.
demo-models: venv
	$(BIN)/python manage.py train_models --kind all --days 30 --activate --unless-active
	$(BIN)/python manage.py train_models --kind random_forest --days 20 --seed 2 --challenger --unless-active

# Train new versions from scratch and make them active (a few minutes on 2 cores).
models: venv
	$(BIN)/python manage.py train_models --kind all --days 30 --activate

# The whole system in one process: web server, embedded MQTT broker, listener, predictor and a
# simulated plant in which one machine fails within minutes. Ctrl-C stops it.
run-demo: venv
	$(BIN)/python manage.py run_demo --host $(HOST) --port $(PORT)

# The web server alone, for installs that run the listener, predictor and broker separately.
serve: venv
	@echo "MaintainX on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/). Ctrl-C stops it."
	$(BIN)/uvicorn maintainx.asgi:application --host $(HOST) --port $(PORT) --lifespan off

clean:
	rm -rf $(VENV) $(SPARKPLUG_VENV) frontend/node_modules frontend/dist staticfiles .pytest_cache .ruff_cache

# Benchmarks (not part of `make test`): they print their figures beside the limits measured in the same run.
bench-ingest: venv
	$(BIN)/python bench/ingest.py

# The contract's shape only: one listener against two on a shared subscription, beside the raw subscriber.
bench-ingest-listeners: venv
	$(BIN)/python bench/ingest.py --shapes plain --shared-listeners 2

# The payloads real gateways send (milliseconds, arrays, Telegraf, unknown metrics, impossible values,
# Sparkplug B) through a real mqtt_listen, with what each stored and kept aside.
tour-payloads: venv $(SPARKPLUG_VENV)/.installed
	$(BIN)/python bench/payload_tour.py

# Bytes on disk per reading of the raw formats and roll-up shapes weighed for a year of readings
# (PostgreSQL: DATABASE_URL, or the local server).
bench-storage-formats: venv
	$(BIN)/python bench/storage_formats.py

# A day of 1,000 machines at 1 Hz in the final format (hour blocks), today's jsonb rows on an hour's
# sample through the ingest, its compaction, the roll-ups, DROP times, the ingest ratio and a year's
# projection of every tier (PostgreSQL: a database of its own on the DATABASE_URL server).
bench-storage: venv
	$(BIN)/python bench/storage.py

bench-models: venv
	$(BIN)/python bench/models.py

bench-scoring: venv
	$(BIN)/python bench/scoring.py

# From a ticket's commit to its push payload decrypted at a local push endpoint and its email accepted.
bench-notifications: venv
	$(BIN)/python bench/notification_latency.py

# 10,000 machines scored by 4 predictor workers (run_predictor --partition i/4): the slowest worker's
# tick against the 10 s interval (1,000 machines simulated, the others their twins).
bench-scoring-partitions: venv
	$(BIN)/python bench/scoring.py --machines 10000 --simulated-machines 1000 --partitions 4 --hours 13 --ticks 10

# Trained on the demo plant, run on plant B: the forest, the rules, the health models, all together.
bench-transfer: venv
	$(BIN)/python bench/transfer.py

# Plant B learning from its own outcomes for 8 simulated weeks (also the last section of bench-transfer).
bench-learning: venv
	$(BIN)/python bench/plant_learning.py

# The readings' partitions (PostgreSQL: DATABASE_URL or the local server): migrating today's table by
# attaching it vs copying it, and dropping a day's partition vs deleting the day, in one run.
bench-partitions: venv
	$(BIN)/python bench/partitions.py

# The chart history API on >= 10 million readings (raw table vs roll-ups, PostgreSQL: DATABASE_URL or
# the local server), then 20 live uPlot charts at 1 Hz in Chromium.
bench-charts: venv frontend/node_modules/.package-lock.json browser
	$(BIN)/python bench/charts.py
	cd frontend && npm run bench:charts

# The whole system under load (200, then 1,000 machines at 1 Hz), through kill -9, a broker restart and
# PostgreSQL and Redis outages, 10,000 hostile payloads and schemathesis as each role, on throwaway
# PostgreSQL, Redis and Mosquitto servers (their binaries must be installed); about 45 minutes.
bench-system: venv
	$(BIN)/python bench/system.py

# What the demo's replay and reports show at the eight "now"s of demo/tests/clocks.py (about 11 minutes).
bench-dates: venv
	$(BIN)/python bench/demo_dates.py
