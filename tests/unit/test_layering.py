"""The domain packages stay pure: no boto3/botocore/moto imports and no os.environ, so the Lambdas, the CLI and the
tests share them unchanged and they can be unit-tested without AWS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("novaft/validation", "novaft/recipes", "novaft/pipeline")
FORBIDDEN_MODULES = ("boto3", "botocore", "moto", "aws_lambda_powertools")


def _pure_modules() -> list[Path]:
    return sorted(path for package in PURE_PACKAGES for path in (REPO / package).rglob("*.py"))


def _violations(path: Path, root: Path = REPO) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        found += [f"imports {name}" for name in names if name.split(".")[0] in FORBIDDEN_MODULES]
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.append(f"uses os.{node.attr}")
    return [f"{path.relative_to(root)}: {message}" for message in found]


def test_every_pure_package_has_modules() -> None:
    for package in PURE_PACKAGES:
        assert list((REPO / package).glob("*.py")), f"{package} has no modules"


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_pure_module_has_no_aws_or_environment_access(path: Path) -> None:
    assert _violations(path) == []


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "impure.py"
    module.write_text("import os\nfrom boto3 import client\nREGION = os.environ['AWS_REGION']\n", encoding="utf-8")
    assert _violations(module, root=tmp_path) == ["impure.py: imports boto3", "impure.py: uses os.environ"]
