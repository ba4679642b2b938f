from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from novaft.pipeline.contracts import DatasetLocation, PinnedObject, RunContext, WorkflowFailure
from novaft.pipeline.records import (
    SNS_SUBJECT_MAX_CHARS,
    Notification,
    RunUpdate,
    console_links,
    iso_utc,
    notification_for,
    registered_item,
    run_document,
    summarize_failure,
    training_outcome_from_describe,
)

RUN = RunContext(
    run_id="demo-0123456789ab",
    run_name="demo",
    attempt=2,
    dataset=DatasetLocation(bucket="data", train=PinnedObject(key="incoming/demo/train.jsonl", etag="e1", size=3)),
    artifacts_bucket="artifacts",
    artifacts_prefix="runs/demo-0123456789ab/",
    training_job_name="novaft-demo-0123456789ab",
)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T03:04:05Z"),
    ],
)
def test_iso_utc_is_utc_with_z(moment: datetime, expected: str) -> None:
    assert iso_utc(moment) == expected


@pytest.mark.parametrize(
    ("describe", "status", "hours", "metrics"),
    [
        (
            {
                "TrainingJobName": "j",
                "TrainingJobStatus": "Completed",
                "BillableTimeInSeconds": 1800,
                "ResourceConfig": {"InstanceCount": 2},
                "FinalMetricDataList": [{"MetricName": "train_loss", "Value": 0.5}],
            },
            "Completed",
            1.0,
            {"train_loss": 0.5},
        ),
        ({"TrainingJobStatus": "Failed", "FailureReason": "OOM"}, "Failed", 0.0, {}),
        ({}, "Unknown", 0.0, {}),
    ],
)
def test_training_outcome_from_describe(describe: dict, status: str, hours: float, metrics: dict) -> None:
    outcome = training_outcome_from_describe(describe)
    assert (outcome.status, outcome.training_hours, outcome.final_metrics) == (status, hours, metrics)


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (
            {"Error": "DatasetInvalid", "Cause": orjson.dumps({"errorMessage": "3 errors", "errorType": "X"}).decode()},
            "DatasetInvalid",
            "3 errors",
        ),
        (
            {"Error": "States.TaskFailed", "Cause": '{"FailureReason": "AlgorithmError: OOM"}'},
            "Failed",
            "AlgorithmError",
        ),
        ({"Error": "TrainingTimedOut", "Cause": "polled 100 times"}, "Failed", "polled 100 times"),
        ({"Error": "States.Timeout"}, "Failed", "States.Timeout"),
        ({"Error": "X", "Cause": "[1, 2]"}, "Failed", "[1, 2]"),
    ],
)
def test_summarize_failure(failure: dict, status: str, message: str) -> None:
    summary = summarize_failure(WorkflowFailure.model_validate(failure))
    assert summary.status == status
    assert message in summary.message


def test_console_links_cover_job_logs_and_execution() -> None:
    links = console_links("us-west-2", training_job_name="job-1", execution_arn="arn:aws:states:x")
    assert set(links) == {"training_job", "training_logs", "execution"}
    assert "$252Faws$252Fsagemaker$252FTrainingJobs" in links["training_logs"]
    assert all(url.startswith("https://us-west-2.console.aws.amazon.com/") for url in links.values())
    assert console_links("us-east-1", training_job_name=None, execution_arn=None) == {}


def test_registered_item_has_table_keys() -> None:
    item = registered_item(RUN, execution_arn="arn:exec", created_at="2026-01-01T00:00:00Z")
    assert item["record_type"] == "run"
    assert item["status"] == "Registered"
    assert item["execution_arn"] == "arn:exec"
    assert item["attempt"] == 2
    assert item["dataset"] == {
        "bucket": "data",
        "train": {"key": "incoming/demo/train.jsonl", "etag": "e1", "size": 3},
    }


def test_run_document_merges_update_and_plain_numbers() -> None:
    existing = {"run_id": "r", "billable_seconds": Decimal("10"), "final_metrics": {"loss": Decimal("0.25")}}
    update = RunUpdate(status="Completed", updated_at="t", fields={"checkpoint_s3_uri": None, "a": 1})
    document = run_document(existing, update, {"execution": "https://x"})
    assert document["billable_seconds"] == 10 and isinstance(document["billable_seconds"], int)
    assert document["final_metrics"] == {"loss": 0.25}
    assert document["status"] == "Completed" and "checkpoint_s3_uri" not in document
    orjson.dumps(document)  # serializable


def test_notification_subject_is_bounded_and_message_skips_empty_details() -> None:
    long_run = RUN.model_copy(update={"run_name": "x" * 200})
    note = notification_for(
        run=long_run, stage="dev", status="Failed", headline="H", details={"Shown": "v", "Hidden": None}, links={}
    )
    assert len(note.subject) <= SNS_SUBJECT_MAX_CHARS
    assert "Shown: v" in note.message and "Hidden" not in note.message


def _failed_run_note(run_name: str) -> Notification:
    """The notification of a failed run named ``run_name``, with no details or links to add lines of their own."""
    return notification_for(
        run=RUN.model_copy(update={"run_name": run_name}),
        stage="dev",
        status="Failed",
        headline="H",
        details={},
        links={},
    )


def _has_control_characters(text: str) -> bool:
    """C0 (with DEL) and C1 control characters: what breaks an SNS subject or forges lines in a terminal."""
    return any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text)


# SNS Publish API reference: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
# 100 characters long". The run name comes from the uploaded key, which may hold any of these.
@pytest.mark.parametrize("run_name", ["x" * 200, "line\nbreak", "tab\there", "bell\x07\x7f", "ünïcödé-ok"])
def test_notification_subject_is_one_line_under_100_characters(run_name: str) -> None:
    note = _failed_run_note(run_name)
    assert len(note.subject) < 100
    assert not _has_control_characters(note.subject), repr(note.subject)


# The run name comes from the uploaded key: a line break in it must not forge lines of the e-mail body, and an escape
# sequence must not reach the reader's terminal.
@pytest.mark.parametrize(
    "run_name",
    ["forged\nLinks:\n  training job: https://evil.example", "carriage\rreturn", "escape\x1b[31mred", "nul\x00byte"],
)
def test_notification_body_names_the_run_without_control_characters(run_name: str) -> None:
    note = _failed_run_note(run_name)
    first_line = note.message.splitlines()[0]
    assert first_line.startswith(f"Run {RUN.run_id} (") and first_line.endswith(") ended with status Failed.")
    assert not _has_control_characters(first_line), repr(first_line)
    assert "Links:" not in [line.strip() for line in note.message.splitlines()]  # no links given: none forged
    assert not any(char in note.message for char in "\r\x1b\x00")
