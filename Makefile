# FediPanel: `make run` to try it, `make test` to check it. `make help` lists every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.DEFAULT_GOAL := help
.PHONY: help setup run demo test test-fast lint format bench translations screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

static/vendor/htmx.min.js: scripts/fetch_htmx.py
	$(BIN)/python scripts/fetch_htmx.py

setup: $(VENV)/.installed static/vendor/htmx.min.js ## Install the pinned dependencies and htmx into .venv
	@$(BIN)/python scripts/fetch_htmx.py

run: setup ## Start the panel at http://127.0.0.1:5000 (SQLite, embedded job queue)
	$(FLASK) fedipanel init
	$(FLASK) run --host $(HOST) --port $(PORT)

demo: setup ## Like run, with a demo provider and operator (passwords printed)
	$(FLASK) fedipanel init
	$(FLASK) fedipanel demo
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup ## Run the whole test suite
	$(BIN)/python -m pytest -n 2

test-fast: setup ## Run the tests that start no program of their own, on both cores (about 30 s)
	$(BIN)/python -m pytest -m "not external" -q -n 2

lint: setup ## ruff, mypy and the import layers (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

format: setup ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Run the benchmarks and write docs/benchmarks.md
	$(BIN)/python bench/run_all.py

translations: setup ## Extract the pages' texts into messages.pot and update every language's catalog
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k lazy_gettext --no-location --sort-output \
		--project FediPanel --copyright-holder FediPanel -o fedipanel/translations/messages.pot fedipanel jobs templates
	$(BIN)/pybabel -q update -i fedipanel/translations/messages.pot -d fedipanel/translations \
		--ignore-obsolete --ignore-pot-creation-date --width 100
screenshots: setup ## Take the README's screenshots again (desktop and phone) from a live panel in chromium
	$(BIN)/python scripts/screenshots.py

clean: ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache static/vendor
