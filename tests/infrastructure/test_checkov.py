"""checkov on the synthesized templates: a gate, like cdk-nag. Skips are in .checkov.yaml or next to the resource."""

from __future__ import annotations

import subprocess

import pytest

from stacks.app_factory import REPO_ROOT
from tests.infrastructure.conftest import SynthesizedApp

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = REPO_ROOT / ".checkov.yaml"
INSTALL = "make setup (or: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install -r requirements-checkov.lock)"


def test_templates_are_checkov_clean(synthesized: SynthesizedApp) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV.relative_to(REPO_ROOT)}; install it with: {INSTALL}")
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(synthesized.outdir), "--config-file", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed checks:" in result.stdout  # it scanned the templates (a wrong framework would scan nothing)
