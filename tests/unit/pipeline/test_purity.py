"""The pipeline domain stays pure: no boto3 and no environment reads (docs/architecture.md, Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE_DIR = Path(__file__).parents[3] / "novaft" / "pipeline"
MODULES = sorted(PIPELINE_DIR.rglob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PIPELINE_DIR)))
def test_pipeline_module_is_pure(module: Path) -> None:
    tree = ast.parse(module.read_text())
    assert not _imported_roots(tree) & {"boto3", "botocore", "os", "aws_lambda_powertools"}
    # Without ``os`` the environment is out of reach; ``Settings.from_env`` receives it as an argument.


def test_modules_were_found() -> None:
    assert len(MODULES) > 10
