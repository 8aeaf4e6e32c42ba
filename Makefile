# Two commands on a fresh machine with python3 and make: `make up` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: up down test test-slow lint system-deps help
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-sync whenever the lock or a member's pyproject changes.
$(SYNCED): $(BIN)/uv uv.lock pyproject.toml $(wildcard apps/*/pyproject.toml tools/*/pyproject.toml)
	$(BIN)/uv sync --frozen --all-packages --group dev
	@touch $@

system-deps: ## install Debian packages the tests use (prometheus, promtool, shellcheck)
	@bash scripts/system-deps.sh

up: $(SYNCED) system-deps ## run the platform locally (Ctrl-C stops it)
	$(BIN)/platformctl up --foreground

down: $(SYNCED) ## stop the local platform
	$(BIN)/platformctl down

test: $(SYNCED) system-deps ## run every test
	$(BIN)/pytest

test-slow: $(SYNCED) system-deps ## the full-length scenario runs
	$(BIN)/pytest -m slow

lint: $(SYNCED) ## ruff and hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
