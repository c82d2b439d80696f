# Hehuachi old-town map service: set-up, serving and tests. `make help` lists the targets.
# `make run` and `make test` do everything on a fresh Debian 12 machine; see docs/OPERATIONS.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# Debian's python3 when there is one (the venv must not depend on a user's pyenv), else PATH's.
PYTHON ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,python3)
PORT ?= 8000
PYTEST_ARGS ?=
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVDB := $(PYTHON) tools/devdb.py

DEBS := postgresql-15-postgis-3 gdal-bin libgdal32 python3-venv fonts-noto-cjk
# nodejs: the GCJ-02 JS/Python parity test; redis-server: the shared tile cache test (under CI,
# CI=true, a missing one fails its test instead of skipping it); nginx, openssl: the proxy
# configuration's own check (nginx -t) with a certificate the test makes; gettext: makemessages
# in the translation test.
TEST_DEBS := chromium poppler-utils zbar-tools python3-qgis nodejs redis-server nginx openssl gettext
# Target-specific: also applies to the prerequisites `make test` builds, so one apt-get does all.
test test-fast: DEBS += $(TEST_DEBS)
# pytest-xdist workers, each on a database of its own (tests/conftest.py). The tests wait on
# servers, browsers and PostgreSQL much of the time: 3 workers beat 2 on two cores (README).
TEST_WORKERS ?= 3
XDIST = -n $(TEST_WORKERS) --dist loadgroup
FAST_TESTS := not browser and not gis and not cluster and not slow

# Python writes its bytecode caches (__pycache__/, ignored by git) even where the caller's
# environment says not to: every test server, worker and manage.py process imports the project,
# and compiling it from source again each time cost ~0.25 s of CPU per process.
unexport PYTHONDONTWRITEBYTECODE
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1
export DEBIAN_FRONTEND := noninteractive

.PHONY: help run dev test test-fast setup bench-peers bench-lighthouse deps venv db db-stop db-reset migrate sample backup upgrade restore bench lint lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# serve.py's tools/prepare.py migrates, loads the sample data and collects static files in one
# process, each only when something changed: a restart serves within seconds.
run: deps venv db ## Set up, then serve as production (gunicorn + a job worker) on 127.0.0.1:PORT (8000)
	$(VPY) tools/serve.py --port $(PORT)

dev: setup ## Set up everything, then Django's auto-reloading development server on PORT
	$(VPY) manage.py runserver 127.0.0.1:$(PORT)

test: setup ## Set up everything (plus Chromium, QGIS, Node.js, Redis), then every test on TEST_WORKERS (3) xdist workers (11.5-12.4 min measured on this 2-core machine; see README)
	$(VPY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: deps venv db ## The tests not marked browser, gis, cluster or slow, on TEST_WORKERS workers (see README, "Test times")
	$(VPY) -m pytest $(XDIST) -m "$(FAST_TESTS)" $(PYTEST_ARGS)

setup: deps venv db migrate sample ## Everything but serving

deps: ## Install missing Debian packages (as root; apt-get update only when something is missing)
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "deps: not Debian; make sure these (or equivalents) are installed: $(DEBS)"; exit 0; \
	fi; \
	missing=""; \
	for pkg in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' "$$pkg" 2>/dev/null | grep -q '^install ok installed$$' \
	    || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "deps: missing Debian packages:$$missing; run: sudo apt-get install$$missing" >&2; exit 1; \
	fi; \
	echo "deps: installing$$missing"; \
	apt-get update -qq || echo "deps: apt-get update failed; trying to install anyway" >&2; \
	apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends $$missing

venv: $(STAMP) ## Create .venv and install requirements.txt (again only when it changes)

$(STAMP): requirements.txt | deps
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	  || { echo "venv: $(PYTHON) is not Python 3.11; run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@if ! $(VPY) -c '' 2>/dev/null; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	@echo "venv: installing requirements.txt into $(VENV)"
	$(VPY) -m pip install --quiet -r requirements.txt
	@touch $@

db: | deps ## Make sure a PostGIS database is reachable and written to .env
	$(DEVDB) ensure

db-stop: ## Stop the project-local PostgreSQL cluster (.pgdata/) if it runs
	$(DEVDB) stop

db-reset: | deps venv ## Drop and recreate the database, then migrate and load the sample data
	$(DEVDB) reset
	$(VPY) manage.py migrate --noinput
	$(VPY) manage.py load_sample_data

migrate: venv db ## Apply migrations
	$(VPY) manage.py migrate --noinput

sample: migrate ## Load the sample data
	$(VPY) manage.py load_sample_data

backup: venv ## Back up the database (pg_dump -Fc) and both media folders with a sha256 manifest: backups/<time>/ (OUT=dir to choose)
	$(VPY) tools/backup.py backup $(if $(OUT),--out $(OUT))

# After new code is in place (git pull): the venv first (new requirements), then the backup;
# migrate runs only after the backup succeeded (tools/upgrade.py).
upgrade: venv ## Back up (database and media), then apply migrations; refuses (nothing migrated) if the backup fails (OUT=dir)
	$(VPY) tools/upgrade.py $(if $(OUT),--out $(OUT))

restore: venv ## Restore a backup: make restore FROM=backups/<time> [YES=1 to replace a non-empty database]
	@test -n "$(FROM)" || { echo "restore: FROM=backups/<time> is required" >&2; exit 1; }
	$(VPY) tools/backup.py restore $(FROM) $(if $(YES),--yes)

bench: setup ## Build the bench data set (100,000 buildings) and run every benchmark
	$(VPY) bench/make_data.py --buildings 100000 --hazards 10000
	$(VPY) bench/api_list.py
	$(VPY) bench/ogc_and_tiles.py
	$(VPY) bench/find.py
	$(VPY) bench/asof.py

PEERS := bench/.peers
# BENCH_DATA=0 skips rebuilding the two bench databases (they are kept between runs);
# PEERS_ARGS passes options to bench/peers.py (e.g. PEERS_ARGS="--only pages,city").
BENCH_DATA ?= 1
PEERS_ARGS ?=
bench-peers: setup ## Bench data (200,000 and 2,000,000 buildings), tipg, pygeoapi and py-spy in their own venvs, issue 28's tables (bench/README.md)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } \
	  || echo "bench-peers: wrk (Debian package) is missing: throughput columns stay empty" >&2
	@[ -x $(PEERS)/tipg/bin/uvicorn ] || { $(PYTHON) -m venv $(PEERS)/tipg && \
	  $(PEERS)/tipg/bin/pip install --quiet "tipg==1.6.*" uvicorn; }
	@[ -x $(PEERS)/pygeoapi/bin/gunicorn ] || { $(PYTHON) -m venv $(PEERS)/pygeoapi && \
	  $(PEERS)/pygeoapi/bin/pip install --quiet "pygeoapi==0.21.*" gunicorn psycopg2-binary geoalchemy2; }
	@[ -x $(PEERS)/pyspy/bin/py-spy ] || { $(PYTHON) -m venv $(PEERS)/pyspy && \
	  $(PEERS)/pyspy/bin/pip install --quiet py-spy; }
	@if [ "$(BENCH_DATA)" = 1 ]; then \
	  $(VPY) bench/make_data.py --buildings 200000 --hazards 20000 && \
	  $(VPY) bench/make_data.py --buildings 2000000 --hazards 200000 --db-suffix _bench_city; fi
	$(VPY) bench/peers.py --json bench/results/peers.json $(PEERS_ARGS)

# Lighthouse from npm into bench/.lighthouse/ (gitignored), Debian's Chromium; the server as `make run`.
bench-lighthouse: deps venv db ## Lighthouse (mobile, simulated 4G) on /, /tour/, a stop page and /report/, 3 runs each (bench/results/lighthouse.json)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq chromium; }
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq npm; }
	$(VPY) bench/lighthouse.py

lint: venv ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lock: ## Regenerate requirements.txt from requirements.in in a throw-away venv
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet -r requirements.in; \
	{ echo "# Pinned from requirements.in with 'make lock'. Python 3.11."; \
	  "$$tmp/venv/bin/python" -m pip freeze; } > requirements.txt.tmp; \
	mv requirements.txt.tmp requirements.txt; \
	echo "lock: requirements.txt rewritten; review with git diff"

clean: ## Remove .venv, caches and collected static files (keeps .env and .pgdata/)
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles test-artifacts
	find . \( -path ./.pgdata -o -path ./.git \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
