"""The operator's formatting and decision modules stay pure: no boto3/botocore, no environment reads."""

import ast
from pathlib import Path

import pytest

import novaft.operator

PURE_MODULES = [
    "durations",
    "execution_history",
    "following",
    "report_text",
    "run_names",
    "run_status",
    "run_view",
    "runs_table",
    "s3_uris",
    "stack_outputs",
    "status_text",
    "submission",
]
PACKAGE_DIR = Path(novaft.operator.__file__).parent


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_aws_sdk_and_reads_no_environment(module: str) -> None:
    tree = ast.parse((PACKAGE_DIR / f"{module}.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"boto3", "botocore", "os"}}
    assert "environ" not in {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
