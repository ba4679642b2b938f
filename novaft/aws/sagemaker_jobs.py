"""SageMaker training jobs: create, describe, stop and tags, with SageMaker's errors mapped to named ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.clients import client
from novaft.pipeline.errors import SageMakerCapacityError, SageMakerThrottled, TrainingJobNotFound
from novaft.pipeline.steps.ports import JobNameTaken

_THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
_CAPACITY_CODES = frozenset({"ResourceLimitExceeded", "CapacityError", "InsufficientCapacityError"})
_STOPPABLE_STATUSES = frozenset({"InProgress"})


def _code_and_message(error: ClientError) -> tuple[str, str]:
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _raise_named(error: ClientError, action: str, job_name: str) -> None:
    code, message = _code_and_message(error)
    if code in _THROTTLING_CODES:
        raise SageMakerThrottled(f"SageMaker throttled {action} for {job_name}: {message}") from None
    if code in _CAPACITY_CODES:
        raise SageMakerCapacityError(f"SageMaker has no capacity for {job_name} ({code}): {message}") from None


def create_training_job(request: Mapping[str, Any]) -> str:
    """Start the job; returns its ARN. A name already in use raises ``JobNameTaken``."""
    job_name = str(request.get("TrainingJobName", ""))
    try:
        response = client("sagemaker").create_training_job(**request)
    except ClientError as error:
        code, message = _code_and_message(error)
        if code == "ResourceInUse" or "already exists" in message.lower():
            raise JobNameTaken(job_name) from None
        _raise_named(error, "CreateTrainingJob", job_name)
        raise
    return str(response["TrainingJobArn"])


def describe_training_job(job_name: str) -> dict[str, Any]:
    try:
        return dict(client("sagemaker").describe_training_job(TrainingJobName=job_name))
    except ClientError as error:
        code, message = _code_and_message(error)
        # SageMaker answers an unknown job with ValidationException "Requested resource not found".
        if code in ("ValidationException", "ResourceNotFound") and "not found" in message.lower():
            raise TrainingJobNotFound(f"training job {job_name} does not exist") from None
        _raise_named(error, "DescribeTrainingJob", job_name)
        raise


def training_job_tags(job_arn: str) -> dict[str, str]:
    """The job's tags; empty when the caller may not list them (the caller then compares input URIs instead)."""
    try:
        response = client("sagemaker").list_tags(ResourceArn=job_arn)
    except ClientError as error:
        if _code_and_message(error)[0] in ("AccessDeniedException", "AccessDenied"):
            return {}
        raise
    return {str(tag["Key"]): str(tag["Value"]) for tag in response.get("Tags") or []}


def stop_training_job_if_running(job_name: str) -> bool:
    """Ask SageMaker to stop the job; ``False`` when there was nothing to stop (unknown, stopping or finished)."""
    try:
        status = describe_training_job(job_name).get("TrainingJobStatus")
    except TrainingJobNotFound:
        return False
    if status not in _STOPPABLE_STATUSES:
        return False
    try:
        client("sagemaker").stop_training_job(TrainingJobName=job_name)
    except ClientError as error:
        code, message = _code_and_message(error)
        # The job finished or began stopping between describe and stop: nothing left to do.
        if code == "ValidationException" and any(word in message.lower() for word in ("status", "stop", "complete")):
            return False
        _raise_named(error, "StopTrainingJob", job_name)
        raise
    return True
