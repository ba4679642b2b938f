"""An in-process Lambda invocation applies the function's environment without ever hiding the caller's: other threads
(the test's boto3 clients, reading AWS_ENDPOINT_URL) run while a function does."""

from __future__ import annotations

import os
from typing import Any

import pytest

from novaft.local import lambda_runner


def _invocation(environment: dict[str, str]) -> lambda_runner.LambdaInvocation:
    return lambda_runner.LambdaInvocation(
        function_name="probe",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:probe",
        handler="probe.handler",
        code_zip=b"",
        environment=environment,
    )


def test_only_the_functions_own_variables_change_and_they_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("BUCKET", "caller-bucket")
    monkeypatch.delenv("ONLY_IN_FUNCTION", raising=False)
    removed: list[str] = []
    environ_type: Any = type(os.environ)
    stock_delitem = environ_type.__delitem__

    def recording_delitem(environ: Any, name: str) -> None:
        removed.append(name)
        stock_delitem(environ, name)

    monkeypatch.setattr(environ_type, "__delitem__", recording_delitem)
    with lambda_runner._function_environment(_invocation({"BUCKET": "function-bucket", "ONLY_IN_FUNCTION": "1"})):
        assert os.environ["BUCKET"] == "function-bucket" and os.environ["ONLY_IN_FUNCTION"] == "1"
        assert os.environ["AWS_LAMBDA_FUNCTION_NAME"] == "probe"
    assert os.environ["BUCKET"] == "caller-bucket" and "ONLY_IN_FUNCTION" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    # Nothing the function did not set was ever removed, not even for a moment.
    assert "AWS_ENDPOINT_URL" not in removed and "BUCKET" not in removed
    assert "ONLY_IN_FUNCTION" in removed


def test_the_environment_is_restored_when_the_function_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUCKET", "caller-bucket")
    with pytest.raises(RuntimeError), lambda_runner._function_environment(_invocation({"BUCKET": "function-bucket"})):
        raise RuntimeError("handler failed")
    assert os.environ["BUCKET"] == "caller-bucket"
