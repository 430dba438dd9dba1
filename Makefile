# Developer entry points for the identity provider.
#
#   make install   create .venv and install the package with its test extras (fast when nothing changed)
#   make run       the provider (:5000) and two demo portals (:5001, :5003) with demo people to try
#   make demo      the provider and two example portals (:5001, :5002): single sign-on and logout
#   make test      run the test suite            (make test PYTEST_ARGS='-n 0 -x tests/oauth')
#   make fuzz      a long fuzz run of every route (tests/fuzz; make fuzz FUZZ_EXAMPLES=1000)
#   make browser   install Debian's Chromium (and a Chinese font for screenshots) for tests/browser
#   make lint      ruff check + ruff format --check + mypy + import-linter contracts
#   make format    let ruff fix imports and formatting
#   make bench     idp side by side with node-oidc-provider (make bench BENCH_ARGS='--duration 1')
#   make clean     remove the venv, local databases and caches (never keys/)
#
# Python 3.11+ and a C compiler are assumed; everything else is installed into .venv (and
# `make test` needs Chromium: `make browser` installs it).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# A recipe that fails half-way (a .mo file, say) leaves no target behind that looks up to date.
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful `pip install`; pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.installed

# --dist loadfile: the tests of one module run on one worker, in order (a walk in several tests,
# tests/browser/test_first_hour.py; tests/reliability's private servers started once per module's
# worker). Not loadgroup: with pytest 9.2, pytest-xdist 3.8 silently stops grouping by
# xdist_group (pytest-dev/pytest-xdist#1386).
PYTEST_ARGS ?= -n 2 --dist loadfile -q
HOST ?= 127.0.0.1
PORT ?= 5000

# Directories that ruff looks at; ones that do not exist yet (git keeps no empty folder) are left out.
LINT_PATHS := $(wildcard idp tests bench clients)

# Message catalogs: each .po compiles to the .mo beside it, only when the .po changed.
PO_FILES := $(wildcard idp/translations/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv install translations run demo test fuzz browser lint format bench clean

help:
	@sed -n '3,13s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- environment ------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(STAMP) translations
venv: install

translations: $(MO_FILES)
ifeq ($(strip $(PO_FILES)),)
	@echo "translations: no .po catalog under idp/translations yet, nothing to compile"
endif

# `pybabel -q` is a global option: it goes before the subcommand.
idp/translations/%.mo: idp/translations/%.po | $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# --- everyday targets -------------------------------------------------------------------------

# Development mode for every command of this target (and only this one): http issuer and a
# development secret are allowed, the database is instance/idp.sqlite3, Redis is embedded.
run: export IDP_ENV := development
run: export IDP_ISSUER ?= http://localhost:$(PORT)
# `idp demo setup` (idempotent) loads the sample catalogue, the demo people and company, registers
# the portals and prints what to try; clients/demo.py serve starts the provider and the portals.
run: install
	$(BIN)/idp db upgrade
	$(BIN)/idp demo setup
	$(BIN)/python clients/demo.py serve --host $(HOST) --port $(PORT)

# Single sign-on and single logout to try by hand (clients/demo.py, development mode, the state of
# `make run`): registers two example portals afresh, serves the provider on localhost:5000 and the
# portals on :5001 and :5002, and stops all three on Ctrl-C.
demo: install
	$(BIN)/python clients/demo.py run

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# tests/fuzz with many random examples per route (the suite runs a few deterministic ones).
FUZZ_EXAMPLES ?= 300
fuzz: install
	IDP_TEST_FUZZ_PROFILE=idp-fuzz-long IDP_TEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/python -m pytest -n 2 -q tests/fuzz

# tests/browser drives the operating system's Chromium through Playwright (no browser download).
# Installing it needs root (CI runs as root); elsewhere this says what to install and fails
# (a missing Chinese font, which only the screenshots need, is named but not fatal).
CHROMIUM := /usr/bin/chromium
browser:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium"; \
	if ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing="$$missing fonts-noto-cjk"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "browser: missing$$missing; install: sudo apt-get install$$missing" >&2; \
		[ -x $(CHROMIUM) ] && exit 0 || exit 1; \
	fi; \
	echo "browser: installing Debian's$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq; \
	apt-get install -y -qq --no-install-recommends $$missing

# Both checks run, so one report shows every problem; the target fails if either failed.
lint: install
	status=0; \
	$(BIN)/ruff check $(LINT_PATHS) || status=1; \
	$(BIN)/ruff format --check $(LINT_PATHS) || status=1; \
	$(BIN)/mypy || status=1; \
	$(BIN)/lint-imports --no-cache || status=1; \
	exit $$status

format: install
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# keys/ holds the signing keys and is never touched here.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
	rm -f instance/*.sqlite3 instance/*.sqlite3-* instance/redis.db*
	rm -f $(MO_FILES)
	find . -path ./.git -prune -o -path ./keys -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
