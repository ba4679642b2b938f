from __future__ import annotations

import pytest

from lambdas.handlers import validate_dataset
from novaft.pipeline.errors import DatasetInvalid, JobSpecInvalid
from novaft.pipeline.facts import RECORD_TYPE_RUN, STATUS_REGISTERED
from tests.handlers.conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, Aws, FakeLambdaContext, load_event
from tests.handlers.datasets import invalid_sft, valid_sft

REPORT_KEY = "runs/demo-cf6723e4f5d0/validation-report.json"


def _given_run(aws: Aws, train: bytes, *, validation: bytes | None = None, job_yaml: str | None = None) -> dict:
    run = load_event("validate_dataset.json")
    put = aws.s3.put_object(Bucket=DATASETS_BUCKET, Key=run["dataset"]["train_key"], Body=train)
    run["dataset"]["version_id"] = put.get("VersionId")  # the fixture's id does not exist in an unversioned bucket
    if validation is not None:
        run["dataset"]["validation_key"] = "incoming/demo/validation.jsonl"
        aws.s3.put_object(Bucket=DATASETS_BUCKET, Key="incoming/demo/validation.jsonl", Body=validation)
    if job_yaml is not None:
        run["dataset"]["job_key"] = "incoming/demo/job.yaml"
        aws.s3.put_object(Bucket=DATASETS_BUCKET, Key="incoming/demo/job.yaml", Body=job_yaml.encode())
    aws.put_item(
        {"run_id": run["run_id"], "record_type": RECORD_TYPE_RUN, "status": STATUS_REGISTERED, "execution_arn": "arn:e"}
    )
    return run


@pytest.mark.parametrize(
    ("validation", "job_yaml", "model"),
    [
        (None, None, "micro"),
        (valid_sft(3), None, "micro"),
        (None, "model: lite\nmethod: sft\npeft: lora\n", "lite"),
    ],
)
def test_validate_dataset_valid_data_writes_the_report(
    aws: Aws, lambda_context: FakeLambdaContext, validation: bytes | None, job_yaml: str | None, model: str
) -> None:
    run = _given_run(aws, valid_sft(), validation=validation, job_yaml=job_yaml)

    outcome = validate_dataset.lambda_handler(run, lambda_context)

    assert outcome["valid"] is True
    assert outcome["records"] == 10
    assert outcome["report_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}"
    assert outcome["stats"]["records"] == 10
    report = aws.read_json(ARTIFACTS_BUCKET, REPORT_KEY)
    assert (report["valid"], report["model"]) == (True, model)
    assert (report["stats"]["validation"] is not None) == (validation is not None)
    assert aws.item(run["run_id"])["report_s3_uri"] == outcome["report_s3_uri"]


def test_validate_dataset_invalid_data_raises_with_lines_and_report(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    run = _given_run(aws, invalid_sft())
    original = aws.s3.get_object(Bucket=DATASETS_BUCKET, Key=run["dataset"]["train_key"])["Body"].read()

    with pytest.raises(DatasetInvalid) as caught:
        validate_dataset.lambda_handler(run, lambda_context)

    message = str(caught.value)
    assert "line 3" in message and "line 11" in message
    assert f"s3://{ARTIFACTS_BUCKET}/{REPORT_KEY}" in message
    assert "of 11 training record(s)" in message
    assert aws.read_json(ARTIFACTS_BUCKET, REPORT_KEY)["valid"] is False
    item = aws.item(run["run_id"])
    assert (item["status"], item["failure_error"]) == ("DatasetInvalid", "DatasetInvalid")
    # The input is only read.
    assert aws.s3.get_object(Bucket=DATASETS_BUCKET, Key=run["dataset"]["train_key"])["Body"].read() == original


@pytest.mark.parametrize(
    ("job_yaml", "message_part"),
    [
        ("model: nova-huge\nmethod: sft\npeft: lora\n", "model"),
        ("model: micro\nmethod: sft\npeft: lora\nbogus: 1\n", "bogus"),
        ("model: [unclosed\n", "job.yaml"),
    ],
)
def test_validate_dataset_bad_job_yaml_is_job_spec_invalid(
    aws: Aws, lambda_context: FakeLambdaContext, job_yaml: str, message_part: str
) -> None:
    run = _given_run(aws, valid_sft(), job_yaml=job_yaml)

    with pytest.raises(JobSpecInvalid, match=message_part) as caught:
        validate_dataset.lambda_handler(run, lambda_context)

    assert "s3://novaft-dev-datasets/incoming/demo/job.yaml" in str(caught.value)
