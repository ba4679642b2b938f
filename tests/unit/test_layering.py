"""The pure modules stay pure, so the Lambdas, the CLI and the tests share them unchanged without AWS.

Imports are checked by the import-linter contracts in pyproject.toml (``lint-imports``, part of ``make lint``); these
tests prove the contracts hold and still fail on a forbidden import, and check the one rule import-linter cannot
express: no ``os.environ``/``getenv`` attribute use (``Settings.from_env`` receives the environment as an argument).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ENVIRONMENT_ATTRIBUTES = frozenset({"environ", "getenv"})


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _module_files(module: str) -> list[Path]:
    path = REPO.joinpath(*module.split("."))
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path.with_suffix(".py")]


def _pure_modules() -> list[Path]:
    """Every module a contract keeps away from the AWS SDK and the environment."""
    return sorted(
        {
            path
            for contract in _contracts()
            if "os" in contract["forbidden_modules"]
            for module in contract["source_modules"]
            for path in _module_files(module)
        }
    )


def environment_reads(path: Path, root: Path = REPO) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno}: uses .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_ATTRIBUTES
    ]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_contracts_name_existing_modules() -> None:
    for contract in _contracts():
        for module in contract["source_modules"]:
            assert all(path.is_file() for path in _module_files(module)), f"{contract['name']}: {module} is missing"
    assert len(_pure_modules()) > 40


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_pure_module_reads_no_environment(path: Path) -> None:
    assert environment_reads(path) == []


def test_environment_check_catches_a_read(tmp_path: Path) -> None:
    module = tmp_path / "impure.py"
    module.write_text("import os\nREGION = os.environ['AWS_REGION']\nSTAGE = os.getenv('STAGE')\n", encoding="utf-8")
    assert environment_reads(module, root=tmp_path) == ["impure.py:2: uses .environ", "impure.py:3: uses .getenv"]


def test_import_contracts_are_kept() -> None:
    linted = _lint_imports(REPO)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    ("module", "violation", "forbidden"),
    [
        ("novaft/pipeline/steps/leaky.py", "import boto3\n", "boto3"),
        ("novaft/validation/leaky.py", "from os import environ\n", "os"),
        ("novaft/recipes/leaky.py", "from novaft.aws import clients\n", "novaft.aws.clients"),
        ("novaft/operator/text.py", "\nimport botocore.exceptions\n", "botocore"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, violation: str, forbidden: str) -> None:
    for package in ("novaft", "lambdas"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text((target.read_text(encoding="utf-8") if target.exists() else "") + violation, encoding="utf-8")
    linted = _lint_imports(tmp_path)
    assert linted.returncode != 0
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {forbidden} (l." in linted.stdout
