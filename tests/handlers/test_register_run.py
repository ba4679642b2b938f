from __future__ import annotations

import copy

import pytest

from lambdas.handlers import register_run
from novaft.pipeline.facts import STATUS_REGISTERED
from tests.handlers.conftest import ARTIFACTS_BUCKET, Aws, FakeLambdaContext, load_event

TRAIN_BODY = b"hello\n"  # the bytes behind the fixtures' ETag, size and checksum


@pytest.mark.parametrize(
    ("fixture", "train_key", "siblings", "run_name", "validation_key", "job_key"),
    [
        ("register_run_train.json", "incoming/demo/train.jsonl", [], "demo", None, None),
        (
            "register_run_train.json",
            "incoming/demo/train.jsonl",
            ["incoming/demo/validation.jsonl", "incoming/demo/job.yaml"],
            "demo",
            "incoming/demo/validation.jsonl",
            "incoming/demo/job.yaml",
        ),
        (
            "register_run_single_file.json",
            "incoming/Quick Run_v2.jsonl",
            ["incoming/Quick Run_v2/validation.jsonl"],
            "Quick Run_v2",
            None,
            None,
        ),
    ],
)
def test_register_run_records_a_new_run_with_pinned_inputs(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    fixture: str,
    train_key: str,
    siblings: list[str],
    run_name: str,
    validation_key: str | None,
    job_key: str | None,
) -> None:
    # Given the sibling files that exist before train.jsonl
    sibling_versions = {key: aws.upload(key, b"x") for key in siblings}
    event = aws.uploaded_event(fixture, train_key, TRAIN_BODY)

    # When
    run = register_run.lambda_handler(event, lambda_context)

    # Then
    assert (run["ignored"], run["duplicate"], run["run_name"], run["attempt"]) == (False, False, run_name, 1)
    dataset = run["dataset"]
    assert dataset["train"]["key"] == train_key
    assert dataset["train"]["version_id"] == event["event"]["detail"]["object"]["version-id"]
    assert dataset["train"]["size"] == len(TRAIN_BODY) and dataset["train"]["checksum"].startswith("CRC32:")
    for role, key in (("validation", validation_key), ("job", job_key)):
        pinned = dataset[role]
        assert (pinned and pinned["key"]) == key
        if key:
            assert pinned["version_id"] == sibling_versions[key] and pinned["size"] == 1
    assert run["artifacts_bucket"] == ARTIFACTS_BUCKET
    assert run["artifacts_prefix"] == f"runs/{run['run_id']}/"
    assert run["training_job_name"].startswith("novaft-")
    item = aws.item(run["run_id"])
    assert item["status"] == STATUS_REGISTERED
    assert item["record_type"] == "run" and item["attempt"] == 1
    assert item["execution_arn"] == event["execution_arn"]
    assert item["created_at"].endswith("Z")


def test_register_run_decodes_the_url_encoded_key(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given a run folder whose name needs encoding, as S3 writes it into the EventBridge event
    aws.upload("incoming/my run+1/job.yaml", b"x")
    event = aws.uploaded_event("register_run_train.json", "incoming/my run+1/train.jsonl", TRAIN_BODY)
    assert event["event"]["detail"]["object"]["key"] == "incoming/my+run%2B1/train.jsonl"

    # When
    run = register_run.lambda_handler(event, lambda_context)

    # Then the run uses the object's real keys
    assert run["run_name"] == "my run+1"
    assert run["dataset"]["train"]["key"] == "incoming/my run+1/train.jsonl"
    assert run["dataset"]["job"]["key"] == "incoming/my run+1/job.yaml"


def test_register_run_fixture_gives_the_documented_run(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = aws.uploaded_event("register_run_train.json", "incoming/demo/train.jsonl", TRAIN_BODY)
    run = register_run.lambda_handler(event, lambda_context)
    documented = load_event("validate_dataset.json")
    documented["dataset"]["train"]["version_id"] = event["event"]["detail"]["object"]["version-id"]
    assert run == documented


def test_register_run_marks_a_second_delivery_duplicate(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    first = aws.uploaded_event("register_run_train.json", "incoming/demo/train.jsonl", TRAIN_BODY)
    again = copy.deepcopy(first)
    again["execution_arn"] = first["execution_arn"].replace("run-0001", "run-0009")

    registered = register_run.lambda_handler(first, lambda_context)
    duplicate = register_run.lambda_handler(again, lambda_context)

    assert duplicate["duplicate"] is True and duplicate["run_id"] == registered["run_id"]
    assert duplicate["existing_execution_arn"] == first["execution_arn"]
    assert aws.item(duplicate["run_id"])["execution_arn"] == first["execution_arn"]


def test_register_run_identical_bytes_uploaded_again_are_a_duplicate(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    runs = [
        register_run.lambda_handler(
            aws.uploaded_event("register_run_train.json", "incoming/demo/train.jsonl", TRAIN_BODY), lambda_context
        )
        for _ in range(3)
    ]
    assert [run["duplicate"] for run in runs] == [False, True, True]
    assert {run["run_id"] for run in runs} == {runs[0]["run_id"]}
    assert len({run["dataset"]["train"]["version_id"] for run in runs}) == 3  # three versions, one run


def test_register_run_new_content_is_a_new_attempt(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    first, second = (
        register_run.lambda_handler(
            aws.uploaded_event("register_run_train.json", "incoming/demo/train.jsonl", body), lambda_context
        )
        for body in (TRAIN_BODY, b"changed\n")
    )

    assert first["run_id"] != second["run_id"] and not second["duplicate"]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert aws.item(first["run_id"])["attempt"] == 1 and aws.item(second["run_id"])["attempt"] == 2


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
    assert aws.dynamodb.scan(TableName="novaft-dev-runs")["Count"] == 0  # no run and no attempt counter


def test_register_run_ignores_events_other_than_object_created(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = aws.uploaded_event("register_run_train.json", "incoming/demo/train.jsonl", TRAIN_BODY)
    event["event"]["detail-type"] = "Object Deleted"

    assert register_run.lambda_handler(event, lambda_context)["ignored"] is True


def test_register_run_rejects_a_payload_without_the_event(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    from novaft.pipeline.errors import EventNotRecognized

    with pytest.raises(EventNotRecognized, match="event"):
        register_run.lambda_handler({"execution_arn": "arn"}, lambda_context)
