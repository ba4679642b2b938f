"""A Lambda's uncaught error reaches Step Functions under its class name (``errorType``); the workflow's Retry and
Catch rules match that name, so ``workflow_error`` must be it, and every name the workflow routes must exist."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from novaft.errors import InputFileError, NovaftError, UsageError
from novaft.pipeline import errors

WORKFLOW_DEFINITION = Path(__file__).resolve().parents[3] / "stacks" / "constructs" / "workflow_definition.py"
PIPELINE_ERRORS = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == errors.__name__
]


def _routed_error_names(source: str) -> set[str]:
    """The error names in the definition's ``errors=[...]`` rules, resolving module-level constants."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def names(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Name) and node.id in constants:
            return names(constants[node.id])
        if isinstance(node, ast.List | ast.Tuple):
            return [name for element in node.elts for name in names(element)]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Attribute) and node.attr == "workflow_error" and isinstance(node.value, ast.Name):
            return [node.value.id]
        raise AssertionError(f"line {node.lineno}: cannot read the error name {ast.dump(node)}")

    return {
        name
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        for keyword in call.keywords
        if keyword.arg == "errors"
        for name in names(keyword.value)
    }


@pytest.mark.parametrize("error", PIPELINE_ERRORS, ids=lambda error: error.__name__)
def test_each_pipeline_error_names_itself_as_the_workflow_sees_it(error: type[NovaftError]) -> None:
    assert issubclass(error, NovaftError)
    assert error.workflow_error == error.__name__


def test_shared_errors_name_themselves() -> None:
    assert [cls.workflow_error for cls in (NovaftError, UsageError, InputFileError)] == [
        "NovaftError",
        "UsageError",
        "InputFileError",
    ]


def test_every_error_the_workflow_routes_by_name_is_a_pipeline_error() -> None:
    routed = _routed_error_names(WORKFLOW_DEFINITION.read_text(encoding="utf-8"))
    # Dotted names are the service's (States.ALL, Lambda.*, SageMaker.*, SNS.*); the rest are raised by our Lambdas.
    ours = {name for name in routed if "." not in name}
    assert ours, "the workflow routes none of the pipeline's errors by name"
    assert ours <= {error.workflow_error for error in PIPELINE_ERRORS}


def test_the_route_reader_resolves_constants_and_rejects_what_it_cannot_read() -> None:
    source = (
        'A = "SageMakerThrottled"\nB = ["States.ALL", A]\n'
        "t.add_retry(errors=B)\nt.add_catch(errors=[X.workflow_error])\n"
    )
    assert _routed_error_names(source) == {"States.ALL", "SageMakerThrottled", "X"}
    with pytest.raises(AssertionError, match="cannot read"):
        _routed_error_names("t.add_retry(errors=make_errors())\n")
