from __future__ import annotations

import copy

import pytest

from lambdas.handlers import register_run
from novaft.pipeline.facts import STATUS_REGISTERED
from tests.handlers.conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, Aws, FakeLambdaContext, load_event


@pytest.mark.parametrize(
    ("fixture", "siblings", "run_name", "validation_key", "job_key"),
    [
        ("register_run_train.json", [], "demo", None, None),
        (
            "register_run_train.json",
            ["incoming/demo/validation.jsonl", "incoming/demo/job.yaml"],
            "demo",
            "incoming/demo/validation.jsonl",
            "incoming/demo/job.yaml",
        ),
        ("register_run_single_file.json", ["incoming/Quick Run_v2/validation.jsonl"], "Quick Run_v2", None, None),
    ],
)
def test_register_run_records_a_new_run(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    fixture: str,
    siblings: list[str],
    run_name: str,
    validation_key: str | None,
    job_key: str | None,
) -> None:
    # Given the sibling files that exist before train.jsonl
    for key in siblings:
        aws.s3.put_object(Bucket=DATASETS_BUCKET, Key=key, Body=b"x")
    event = load_event(fixture)

    # When
    run = register_run.lambda_handler(event, lambda_context)

    # Then
    assert (run["ignored"], run["duplicate"], run["run_name"]) == (False, False, run_name)
    assert run["dataset"]["validation_key"] == validation_key
    assert run["dataset"]["job_key"] == job_key
    assert run["artifacts_bucket"] == ARTIFACTS_BUCKET
    assert run["artifacts_prefix"] == f"runs/{run['run_id']}/"
    assert run["training_job_name"].startswith("novaft-")
    item = aws.item(run["run_id"])
    assert item["status"] == STATUS_REGISTERED
    assert item["record_type"] == "run"
    assert item["execution_arn"] == event["execution_arn"]
    assert item["created_at"].endswith("Z")


def test_register_run_decodes_the_url_encoded_key(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given a run folder whose name needs encoding, as S3 writes it into the EventBridge event
    aws.s3.put_object(Bucket=DATASETS_BUCKET, Key="incoming/my run+1/job.yaml", Body=b"x")
    event = load_event("register_run_train.json")
    event["event"]["detail"]["object"]["key"] = "incoming/my+run%2B1/train.jsonl"

    # When
    run = register_run.lambda_handler(event, lambda_context)

    # Then the run uses the object's real keys
    assert run["run_name"] == "my run+1"
    assert run["dataset"]["train_key"] == "incoming/my run+1/train.jsonl"
    assert run["dataset"]["job_key"] == "incoming/my run+1/job.yaml"


def test_register_run_fixture_gives_the_documented_run_id(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    run = register_run.lambda_handler(load_event("register_run_train.json"), lambda_context)
    assert run == load_event("validate_dataset.json")


def test_register_run_marks_a_second_delivery_duplicate(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    first = load_event("register_run_train.json")
    again = copy.deepcopy(first)
    again["execution_arn"] = first["execution_arn"].replace("run-0001", "run-0009")

    register_run.lambda_handler(first, lambda_context)
    duplicate = register_run.lambda_handler(again, lambda_context)

    assert duplicate["duplicate"] is True
    assert duplicate["existing_execution_arn"] == first["execution_arn"]
    assert aws.item(duplicate["run_id"])["execution_arn"] == first["execution_arn"]


def test_register_run_new_version_is_a_new_run(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    first = load_event("register_run_train.json")
    second = copy.deepcopy(first)
    second["event"]["detail"]["object"]["version-id"] = "another-version"

    ids = {register_run.lambda_handler(e, lambda_context)["run_id"] for e in (first, second)}

    assert len(ids) == 2


@pytest.mark.parametrize(
    "key",
    [
        "incoming/demo/job.yaml",
        "incoming/demo/validation.jsonl",
        "incoming/demo/images/cat.png",
        "incoming/a/b/train.jsonl",
        "incoming/notes.txt",
        "elsewhere/demo/train.jsonl",
    ],
)
def test_register_run_ignores_other_files(aws: Aws, lambda_context: FakeLambdaContext, key: str) -> None:
    event = load_event("register_run_job_yaml.json")
    event["event"]["detail"]["object"]["key"] = key

    run = register_run.lambda_handler(event, lambda_context)

    assert run["ignored"] is True
    assert aws.dynamodb.scan(TableName="novaft-dev-runs")["Count"] == 0


def test_register_run_ignores_events_other_than_object_created(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = load_event("register_run_train.json")
    event["event"]["detail-type"] = "Object Deleted"

    assert register_run.lambda_handler(event, lambda_context)["ignored"] is True


def test_register_run_rejects_a_payload_without_the_event(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    from novaft.pipeline.errors import EventNotRecognized

    with pytest.raises(EventNotRecognized, match="event"):
        register_run.lambda_handler({"execution_arn": "arn"}, lambda_context)
