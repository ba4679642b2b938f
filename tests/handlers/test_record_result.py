from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest

from lambdas.handlers import record_result, start_training
from novaft.pipeline.facts import (
    METRIC_RUNS_SUCCEEDED,
    METRIC_TRAINING_HOURS,
    RECORD_TYPE_RUN,
    RUN_JSON_FILE,
    STATUS_DATASET_INVALID,
    STATUS_REGISTERED,
    STATUS_VALIDATING,
    VALIDATION_REPORT_FILE,
)
from tests.handlers.conftest import ARTIFACTS_BUCKET, Aws, FakeLambdaContext, load_event
from tests.handlers.sagemaker_control import billable_seconds, set_job_status

RUN_ID = "demo-dbad16161acb"
JOB = "novaft-demo-dbad16161acb"
PREFIX = f"runs/{RUN_ID}/"
ESCROW = "s3://customer-escrow-123456789012-smtj-abc123/novaft-demo-dbad16161acb/stepID"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:NovaftDevWorkflow:run-0001"


def _manifest_archive(fields: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    data = json.dumps(fields).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _started_run(aws: Aws, context: FakeLambdaContext) -> None:
    aws.put_item(
        {
            "run_id": RUN_ID,
            "record_type": RECORD_TYPE_RUN,
            "status": STATUS_REGISTERED,
            "execution_arn": EXECUTION,
            "created_at": "t",
        }
    )
    start_training.lambda_handler(load_event("start_training.json"), context)


@pytest.mark.parametrize(
    ("job_status", "reason", "with_manifest", "expected_status", "message_parts"),
    [
        ("Completed", None, True, "Completed", ["Training completed.", ESCROW, "Billable instance-hours: 1.00"]),
        ("Completed", None, False, "Completed", ["Checkpoint manifest problem", "output.tar.gz"]),
        ("Failed", "AlgorithmError: CUDA out of memory", False, "Failed", ["CUDA out of memory"]),
        ("Stopped", None, False, "Stopped", ["status Stopped"]),
    ],
)
def test_record_result_finished_job(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    job_status: str,
    reason: str | None,
    with_manifest: bool,
    expected_status: str,
    message_parts: list[str],
) -> None:
    _started_run(aws, lambda_context)
    set_job_status(JOB, job_status, reason)
    if with_manifest:
        key = f"{PREFIX}output/{JOB}/output/output.tar.gz"
        aws.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=_manifest_archive({"checkpoint_s3_bucket": ESCROW}))
    capsys.readouterr()

    with billable_seconds(3600):
        record = record_result.lambda_handler(load_event("record_result_finished.json"), lambda_context)

    assert record["status"] == expected_status
    assert record["run_json_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{PREFIX}{RUN_JSON_FILE}"
    assert expected_status in record["subject"] and "demo" in record["subject"]
    for part in message_parts:
        assert part in record["message"]
    assert EXECUTION in record["message"]  # the Step Functions console link
    item = aws.item(RUN_ID)
    assert item["status"] == expected_status
    assert item["billable_seconds"] == 3600
    assert (item.get("checkpoint_s3_uri") == ESCROW) is with_manifest
    run_json = aws.read_json(ARTIFACTS_BUCKET, f"{PREFIX}{RUN_JSON_FILE}")
    assert run_json["status"] == expected_status and run_json["execution_arn"] == EXECUTION
    assert set(run_json["links"]) == {"training_job", "training_logs", "execution"}
    emitted = capsys.readouterr().out
    assert f'"{METRIC_TRAINING_HOURS}"' in emitted  # 3600 s x 1 instance
    assert (f'"{METRIC_RUNS_SUCCEEDED}"' in emitted) is (expected_status == "Completed")


@pytest.mark.parametrize(
    ("failure", "expected_status", "message_part"),
    [
        (load_event("record_result_failure.json")["failure"], "DatasetInvalid", "invalid_role x2"),
        ({"Error": "States.TaskFailed", "Cause": '{"FailureReason": "ClientError: no access"}'}, "Failed", "no access"),
        ({"Error": "TrainingTimedOut", "Cause": "still running after 96 polls"}, "Failed", "96 polls"),
        ({"Error": "States.Timeout"}, "Failed", "States.Timeout"),
    ],
)
def test_record_result_failure(
    aws: Aws, lambda_context: FakeLambdaContext, failure: dict[str, Any], expected_status: str, message_part: str
) -> None:
    report_uri = f"s3://{ARTIFACTS_BUCKET}/{PREFIX}{VALIDATION_REPORT_FILE}"
    aws.put_item(
        {
            "run_id": RUN_ID,
            "record_type": RECORD_TYPE_RUN,
            "status": STATUS_VALIDATING,
            "execution_arn": EXECUTION,
            "report_s3_uri": report_uri,
        }
    )
    event = load_event("record_result_failure.json")
    event["failure"] = failure

    record = record_result.lambda_handler(event, lambda_context)

    assert record["status"] == expected_status
    assert message_part in record["message"]
    assert "stackTrace" not in record["message"] and "Traceback" not in record["message"]
    assert report_uri in record["message"]
    item = aws.item(RUN_ID)
    assert (item["status"], item["failure_error"]) == (expected_status, failure["Error"])
    assert aws.read_json(ARTIFACTS_BUCKET, f"{PREFIX}{RUN_JSON_FILE}")["failure_error"] == failure["Error"]


def test_record_result_failure_before_the_item_exists_still_writes_run_json(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    record = record_result.lambda_handler(load_event("record_result_failure.json"), lambda_context)
    assert record["status"] == STATUS_DATASET_INVALID
    assert aws.read_json(ARTIFACTS_BUCKET, f"{PREFIX}{RUN_JSON_FILE}")["run_id"] == RUN_ID
    assert aws.item(RUN_ID) == {}  # no half item is created
