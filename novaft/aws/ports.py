"""boto3 implementations of the step ports (``novaft.pipeline.steps.ports``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from novaft.aws import notifications, s3_objects, sagemaker_jobs
from novaft.aws.runs_table import RunsTable


class S3ObjectStore:
    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        return s3_objects.open_object(bucket, key, version_id)

    def read_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        return s3_objects.read_bytes(bucket, key, version_id)

    def exists(self, bucket: str, key: str) -> bool:
        return s3_objects.object_exists(bucket, key)

    def put_json(self, bucket: str, key: str, document: Any) -> str:
        return s3_objects.put_json(bucket, key, document)

    def put_text(self, bucket: str, key: str, text: str) -> str:
        return s3_objects.put_text(bucket, key, text)


class SageMakerTrainingJobs:
    def create(self, request: Mapping[str, Any]) -> str:
        return sagemaker_jobs.create_training_job(request)

    def describe(self, job_name: str) -> dict[str, Any]:
        return sagemaker_jobs.describe_training_job(job_name)

    def tags(self, job_arn: str) -> dict[str, str]:
        return sagemaker_jobs.training_job_tags(job_arn)

    def stop_if_running(self, job_name: str) -> bool:
        return sagemaker_jobs.stop_training_job_if_running(job_name)


class SnsNotifier:
    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        notifications.publish(self.topic_arn, subject, message)


__all__ = ["RunsTable", "S3ObjectStore", "SageMakerTrainingJobs", "SnsNotifier"]
