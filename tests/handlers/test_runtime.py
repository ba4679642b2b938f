"""The shared handler wrapper: logging context, and metrics published only when a handler counted something."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from lambdas.handlers.runtime import count, instrumented
from novaft.pipeline.facts import METRIC_DATASETS_INVALID, METRIC_RUNS_STARTED, METRICS_NAMESPACE
from tests.handlers.conftest import fake_lambda_context


@pytest.fixture(autouse=True)
def _powertools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "novaft-dev")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


def _emf_documents(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def test_a_handler_that_counts_nothing_publishes_nothing_and_warns_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"seen": event["n"]}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert handler({"n": 1}, fake_lambda_context()) == {"seen": 1}
    assert [str(warning.message) for warning in caught] == []
    assert _emf_documents(capsys.readouterr().out) == []


def test_counted_metrics_are_published_once_per_invocation(capsys: pytest.CaptureFixture[str]) -> None:
    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count(METRIC_RUNS_STARTED)
        return {}

    handler({}, fake_lambda_context())
    handler({}, fake_lambda_context())
    documents = _emf_documents(capsys.readouterr().out)
    assert [document[METRIC_RUNS_STARTED] for document in documents] == [[1.0], [1.0]]
    [directive] = documents[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE


def test_metrics_counted_before_an_error_are_still_published(capsys: pytest.CaptureFixture[str]) -> None:
    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count(METRIC_DATASETS_INVALID)
        raise ValueError("invalid data")

    with pytest.raises(ValueError, match="invalid data"):
        handler({}, fake_lambda_context())
    [document] = _emf_documents(capsys.readouterr().out)
    assert document[METRIC_DATASETS_INVALID] == [1.0]


def test_logs_carry_the_lambda_context(caplog: pytest.LogCaptureFixture) -> None:
    from lambdas.handlers.runtime import logger

    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("inside")
        return {}

    handler({}, fake_lambda_context("novaft-dev-register"))
    [record] = [record for record in caplog.records if record.getMessage() == "inside"]
    assert json.loads(logger.registered_formatter.format(record))["function_name"] == "novaft-dev-register"
