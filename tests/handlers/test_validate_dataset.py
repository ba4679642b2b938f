from __future__ import annotations

import pytest

from lambdas.handlers import validate_dataset
from novaft.pipeline.errors import DatasetInvalid, JobSpecInvalid
from novaft.pipeline.facts import (
    JOB_FILE,
    RECORD_TYPE_RUN,
    SNAPSHOT_DIR,
    SNAPSHOT_JOB_SPEC_FILE,
    STATUS_REGISTERED,
    TRAIN_FILE,
    VALIDATION_FILE,
    VALIDATION_REPORT_FILE,
)
from tests.handlers.conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, Aws, FakeLambdaContext, load_event
from tests.handlers.datasets import invalid_sft, valid_sft

RUN_PREFIX = "runs/demo-dbad16161acb/"
REPORT_KEY = f"{RUN_PREFIX}{VALIDATION_REPORT_FILE}"
SNAPSHOT = f"{RUN_PREFIX}{SNAPSHOT_DIR}/"
TRAIN_KEY = f"incoming/demo/{TRAIN_FILE}"
VALIDATION_KEY = f"incoming/demo/{VALIDATION_FILE}"
JOB_KEY = f"incoming/demo/{JOB_FILE}"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _pinned(aws: Aws, key: str, body: bytes) -> dict:
    """Upload ``body`` as a new version of ``key`` and pin it as RegisterRun does."""
    version_id = aws.upload(key, body)
    head = aws.s3.head_object(Bucket=DATASETS_BUCKET, Key=key, VersionId=version_id)
    return {"key": key, "version_id": version_id, "etag": head["ETag"].strip('"'), "size": len(body)}


def _given_run(aws: Aws, train: bytes, *, validation: bytes | None = None, job_yaml: str | None = None) -> dict:
    run = load_event("validate_dataset.json")
    run["dataset"]["train"] = _pinned(aws, run["dataset"]["train"]["key"], train)
    if validation is not None:
        run["dataset"]["validation"] = _pinned(aws, VALIDATION_KEY, validation)
    if job_yaml is not None:
        run["dataset"]["job"] = _pinned(aws, JOB_KEY, job_yaml.encode())
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
    original = aws.s3.get_object(Bucket=DATASETS_BUCKET, Key=TRAIN_KEY)["Body"].read()

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
    assert aws.s3.get_object(Bucket=DATASETS_BUCKET, Key=TRAIN_KEY)["Body"].read() == original


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


def test_validate_dataset_snapshots_the_validated_versions_not_what_incoming_holds_later(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.handlers import runtime

    monkeypatch.setenv("NOVAFT_KMS_KEY_ARN", KMS_KEY_ARN)
    runtime.reset()
    # Given a registered run whose files are overwritten in incoming/ after registration
    run = _given_run(aws, valid_sft(), validation=valid_sft(3), job_yaml="model: lite\nmethod: sft\npeft: lora\n")
    aws.upload(TRAIN_KEY, invalid_sft())
    aws.upload(VALIDATION_KEY, invalid_sft())
    aws.upload(JOB_KEY, b"model: pro\nmethod: dpo\npeft: full\n")

    # When
    outcome = validate_dataset.lambda_handler(run, lambda_context)

    # Then the pinned versions were validated and copied, encrypted with the data key
    assert outcome["valid"] is True and outcome["records"] == 10
    copies = {
        TRAIN_FILE: valid_sft(),
        VALIDATION_FILE: valid_sft(3),
        JOB_FILE: b"model: lite\nmethod: sft\npeft: lora\n",
    }
    for name, body in copies.items():
        copy = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=f"{SNAPSHOT}{name}")
        assert copy["Body"].read() == body
        assert (copy["ServerSideEncryption"], copy["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY_ARN)
    inputs = outcome["inputs"]
    assert inputs["train_s3_uri"] == f"s3://{ARTIFACTS_BUCKET}/{SNAPSHOT}{TRAIN_FILE}"
    assert outcome["job_spec"]["model"] == "lite"
    assert aws.read_json(ARTIFACTS_BUCKET, f"{SNAPSHOT}{SNAPSHOT_JOB_SPEC_FILE}") == outcome["job_spec"]
    assert aws.item(run["run_id"])["inputs"]["train_s3_uri"] == inputs["train_s3_uri"]
