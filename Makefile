# Every target sets itself up first, so `make demo` and `make test` work as the first command on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)
# jsii prints an end-of-life banner on Node 20; the CDK CLI must never phone home during synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help setup chromium test lint typecheck unit demo local bench synth deploy clean

help:
	@echo "make demo   - run the whole pipeline locally on an emulated AWS (no account needed)"
	@echo "make local  - keep the pipeline up on a local emulated AWS for novaft commands in another terminal"
	@echo "make test   - lint, type-check, synth gates and the full test suite"
	@echo "make unit   - the fast unit tests only"
	@echo "make bench  - validator throughput, memory and start-up benchmark (CLI, Lambda handlers)"
	@echo "make deploy - cdk deploy to the AWS account in your environment"

setup: .venv/.installed .venv-checkov/.installed node_modules/.installed chromium
	@# The Lambda dependency layer (arm64 wheels, no Docker); a no-op when already built from the same pins.
	$(PY) scripts/build_lambda_layer.py

# Headless Chromium opens the HTML reports in tests/browser (Debian's package). Installed when missing and running as
# root (CI containers); otherwise the command is printed and the browser test fails until it is run.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "Chromium is missing (tests/browser needs it): sudo apt-get install -y chromium"; \
	fi

.venv/.installed: requirements.lock pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# checkov pins its own boto3, which the project's pins cannot share: it gets a virtualenv of its own.
.venv-checkov/.installed: requirements-checkov.lock
	python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.lock
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
	.venv-checkov/bin/checkov -d cdk.out --config-file .checkov.yaml

deploy: setup
	cdk deploy --all

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
