# The two commands: `make run` and `make test`. `make help` lists the others.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
# apt-get as root, or through sudo
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.DEFAULT_GOAL := help
.PHONY: help install run test lint format translations extract-messages bench bench-tools

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) translations ## Create the virtualenv and install everything

translations: $(STAMP) ## Compile the message catalogues
	$(BIN)/pybabel -q compile -d alumni/translations

extract-messages: $(STAMP) ## Collect new texts into the catalogues (then translate them)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -w 100 -o alumni/translations/messages.pot .
	$(BIN)/pybabel -q update -N -w 100 -i alumni/translations/messages.pot -d alumni/translations

run: install ## Migrate, load demo data if empty, serve on http://localhost:5000
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	$(FLASK) run --port 5000

test: install lint ## Run the whole test suite (CI=true makes PostgreSQL, Redis, Chromium required)
	$(BIN)/pytest

lint: $(STAMP) ## ruff check, ruff format --check, and who may import whom (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP) ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install bench-tools ## Run the benchmarks in bench/ (see docs/benchmarks.md)
	$(BIN)/python bench/import.py --rows 100000
	$(BIN)/python bench/erase.py --people 10000 --database both
	$(BIN)/python bench/pixel.py --seconds 20 --rounds 3
	$(BIN)/python bench/send_cpu.py 3000
	$(BIN)/python bench/send.py --sizes 10000,100000

# bench/pixel.py drives the servers with wrk and measures nginx as the machine's ceiling; as
# .ci/run does for Chromium, Debian's packages are installed where they are missing.
bench-tools: ## Install wrk and nginx from Debian's packages if missing (for bench/pixel.py)
	@if ! command -v wrk >/dev/null 2>&1 || ! PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1; then \
		echo "installing Debian's wrk and nginx for bench/pixel.py"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null; \
	fi
