# Every target sets itself up first, so `make demo` and `make test` work as the first command on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)
# jsii prints an end-of-life banner on Node 20; the CDK CLI must never phone home during synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help setup test lint typecheck unit demo local bench synth deploy clean

help:
	@echo "make demo   - run the whole pipeline locally on an emulated AWS (no account needed)"
	@echo "make local  - keep the pipeline up on a local emulated AWS for novaft commands in another terminal"
	@echo "make test   - lint, type-check, synth gates and the full test suite"
	@echo "make unit   - the fast unit tests only"
	@echo "make bench  - validator throughput, memory and start-up benchmark (CLI, Lambda handlers)"
	@echo "make deploy - cdk deploy to the AWS account in your environment"

setup: .venv/.installed node_modules/.installed
	@# The Lambda dependency layer (arm64 wheels, no Docker); a no-op when already built from the same pins.
	$(PY) scripts/build_lambda_layer.py

.venv/.installed: requirements.lock pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	@# Layer contracts (pyproject.toml [tool.importlinter]); no cache directory in the work tree.
	.venv/bin/lint-imports --no-cache

typecheck: setup
	$(PY) -m mypy

# The fast layer only: pure code and in-memory fakes, no emulated AWS, no synth.
unit: setup
	$(PY) -m pytest -q tests/unit

test: lint typecheck
	$(PY) -m pytest -q

demo: setup
	$(PY) -m novaft.demo

# Until Ctrl-C; prints the settings to export in another terminal (novaft submit / status / runs / report / cancel).
local: setup
	$(PY) -m novaft local up

bench: setup
	$(PY) -m bench.validate_bench

synth: setup
	cdk synth --quiet
	@# W3005: CDK adds DependsOn that a GetAtt already implies; W6001: the pipeline stack re-exports data-stack names on purpose.
	.venv/bin/cfn-lint --ignore-checks W3005 W6001 -- cdk.out/*.template.json

deploy: setup
	cdk deploy --all

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
