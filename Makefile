# Linli 邻里 — set-up, run, test, benchmark.  Only Python 3.11 is assumed; every
# other dependency is installed here (into .venv; Debian packages once needed).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages: CJK fonts for maps with Chinese labels (PNG/PDF exports), and
# chromium for the browser tests (driven by Playwright, no browser download), and
# PostgreSQL + PostGIS for the plan store's second backend (tests/pg_server.py starts
# a throw-away loopback server; postgresql-postgis pulls the version-matched PostGIS).
DEBS   := fonts-noto-cjk chromium postgresql postgresql-postgis
# For the tests only: QGIS (its Python bindings, run with the system Python) opens the
# GeoPackages the exports write and checks that their layer styles load (tests/test_qgis_styles.py).
TEST_DEBS := python3-qgis
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system system-test run test lint typecheck bench clean

# Installs only what is missing; a machine that has them all needs no apt-get.
system:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

system-test:
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# the `linli` command in .venv/bin, on this checkout (editable; dependencies are pinned above)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: system $(STAMP)

# The main job: the web app on the bundled demo (real OpenStreetMap data of central
# Helsinki), served by waitress at http://127.0.0.1:8000/ (PORT=... to change).
PORT ?= 8000
run: setup
	$(BIN)/python -m webapp --project demo --host 127.0.0.1 --port $(PORT)

lint: setup
	$(BIN)/ruff check geo scripts tests benchmarks webapp linli

# mypy over geo/ (and the linli command), configured in pyproject.toml [tool.mypy].
typecheck: setup
	$(BIN)/python -m mypy

# Two test workers (pytest-xdist): about half the time on two cores.
test: setup system-test lint typecheck
	$(BIN)/python -m pytest -n 2

bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .cache out .pytest_cache .ruff_cache .mypy_cache
