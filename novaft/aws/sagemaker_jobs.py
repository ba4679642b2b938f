"""SageMaker training jobs: create, describe, stop and tags, with SageMaker's errors mapped to named ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from novaft.aws.errors import error_code, error_message, is_access_denied, is_not_found, raise_named
from novaft.pipeline.errors import TrainingJobNotFound
from novaft.pipeline.facts import TRAINING_JOB_IN_PROGRESS
from novaft.pipeline.steps.ports import JobNameTaken


class SageMakerTrainingJobs:
    def __init__(self, sagemaker: Any) -> None:
        self._sagemaker = sagemaker

    def create(self, request: Mapping[str, Any]) -> str:
        """Start the job; returns its ARN. A name already in use raises ``JobNameTaken``."""
        job_name = str(request.get("TrainingJobName", ""))
        try:
            response = self._sagemaker.create_training_job(**request)
        except ClientError as error:
            if error_code(error) == "ResourceInUse" or "already exists" in error_message(error).lower():
                raise JobNameTaken(job_name) from None
            raise_named(error, action="CreateTrainingJob", resource=job_name)
            raise
        return str(response["TrainingJobArn"])

    def describe(self, job_name: str) -> dict[str, Any]:
        """DescribeTrainingJob's answer; ``TrainingJobNotFound`` when no job has that name."""
        try:
            return dict(self._sagemaker.describe_training_job(TrainingJobName=job_name))
        except ClientError as error:
            if is_not_found(error):
                raise TrainingJobNotFound(f"training job {job_name} does not exist") from None
            raise_named(error, action="DescribeTrainingJob", resource=job_name)
            raise

    def tags(self, job_arn: str) -> dict[str, str]:
        """The job's tags; empty when the caller may not list them (the caller then compares input URIs instead)."""
        try:
            response = self._sagemaker.list_tags(ResourceArn=job_arn)
        except ClientError as error:
            if is_access_denied(error):
                return {}
            raise
        return {str(tag["Key"]): str(tag["Value"]) for tag in response.get("Tags") or []}

    def stop(self, job_name: str) -> None:
        """Ask SageMaker to stop the job, whatever it is doing; SageMaker's refusal is raised."""
        try:
            self._sagemaker.stop_training_job(TrainingJobName=job_name)
        except ClientError as error:
            raise_named(error, action="StopTrainingJob", resource=job_name)
            raise

    def stop_if_running(self, job_name: str) -> bool:
        """Ask SageMaker to stop the job; ``False`` when there was nothing to stop (unknown, stopping or finished)."""
        try:
            status = self.describe(job_name).get("TrainingJobStatus")
        except TrainingJobNotFound:
            return False
        if status != TRAINING_JOB_IN_PROGRESS:
            return False
        try:
            self.stop(job_name)
        except ClientError as error:
            # The job finished or began stopping between describe and stop: nothing left to do.
            message = error_message(error).lower()
            if error_code(error) == "ValidationException" and any(w in message for w in ("status", "stop", "complete")):
                return False
            raise
        return True
