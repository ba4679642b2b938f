from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from lambdas.handlers import start_training
from novaft.pipeline.errors import SageMakerCapacityError, SageMakerThrottled, TrainingJobConflict
from novaft.pipeline.facts import RECORD_TYPE_RUN, STATUS_REGISTERED, STATUS_TRAINING
from tests.handlers.conftest import Aws, FakeLambdaContext, load_event


def _registered(aws: Aws, event: dict[str, Any]) -> str:
    run_id = str(event["run"]["run_id"])
    aws.put_item(
        {"run_id": run_id, "record_type": RECORD_TYPE_RUN, "status": STATUS_REGISTERED, "execution_arn": "arn:exec"}
    )
    return run_id


def test_start_training_creates_the_job(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = load_event("start_training.json")
    run_id = _registered(aws, event)

    started = start_training.lambda_handler(event, lambda_context)

    assert started["training_job_name"] == event["request"]["TrainingJobName"]
    assert started["training_job_arn"].endswith(f"training-job/{started['training_job_name']}")
    assert started["already_started"] is False
    assert aws.sagemaker.describe_training_job(TrainingJobName=started["training_job_name"])["RoleArn"]
    assert aws.item(run_id)["status"] == STATUS_TRAINING


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateTrainingJob")


def _fail_create_once_with(aws: Aws, error: ClientError) -> Any:
    """moto accepts a second job with the same name; real SageMaker answers ResourceInUse."""
    from novaft.aws.clients import client

    real_client = client("sagemaker")
    return mock.patch.object(real_client, "create_training_job", side_effect=error)


def test_start_training_twice_for_the_same_run_is_already_started(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = load_event("start_training.json")
    _registered(aws, event)
    first = start_training.lambda_handler(event, lambda_context)
    in_use = _client_error("ResourceInUse", "Training job names must be unique ... already exists")

    with _fail_create_once_with(aws, in_use):
        again = start_training.lambda_handler(event, lambda_context)

    assert again["already_started"] is True
    assert again["training_job_arn"] == first["training_job_arn"]


def test_start_training_name_taken_by_another_run_is_a_conflict(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    event = load_event("start_training.json")
    _registered(aws, event)
    other = load_event("start_training.json")
    other["request"]["Tags"] = [{"Key": "novaft:run-id", "Value": "someone-else"}]
    start_training.lambda_handler(other, lambda_context)

    with (
        _fail_create_once_with(aws, _client_error("ResourceInUse", "already exists")),
        pytest.raises(TrainingJobConflict, match="does not belong to run demo-dbad16161acb"),
    ):
        start_training.lambda_handler(event, lambda_context)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", SageMakerThrottled),
        ("ResourceLimitExceeded", SageMakerCapacityError),
        ("CapacityError", SageMakerCapacityError),
    ],
)
def test_start_training_maps_sagemaker_errors(
    aws: Aws, lambda_context: FakeLambdaContext, code: str, expected: type[Exception]
) -> None:
    event = load_event("start_training.json")
    _registered(aws, event)

    with _fail_create_once_with(aws, _client_error(code, "try later")), pytest.raises(expected) as caught:
        start_training.lambda_handler(event, lambda_context)

    assert type(caught.value).__name__ == expected.__name__  # the ASL Retry matches on this name


def test_start_training_without_tag_access_compares_the_train_uri(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    from novaft.aws.clients import client

    event = load_event("start_training.json")
    _registered(aws, event)
    start_training.lambda_handler(event, lambda_context)
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListTags")

    with (
        _fail_create_once_with(aws, _client_error("ResourceInUse", "already exists")),
        mock.patch.object(client("sagemaker"), "list_tags", side_effect=denied),
    ):
        again = start_training.lambda_handler(event, lambda_context)

    assert again["already_started"] is True
