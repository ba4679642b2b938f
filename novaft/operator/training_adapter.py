"""SageMaker calls the operator needs: a training job's status, and stopping it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from novaft.operator.run_status import TrainingView


def _is_missing(exc: ClientError) -> bool:
    # DescribeTrainingJob answers an unknown name with ValidationException "Requested resource not found".
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in {"ValidationException", "ResourceNotFound"} and (
        "not found" in message or "could not find" in message
    )


class TrainingAdapter:
    def __init__(self, sagemaker: Any) -> None:
        self._sagemaker = sagemaker

    def describe(self, job_name: str) -> TrainingView | None:
        try:
            job = self._sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        billable = job.get("BillableTimeInSeconds")
        return TrainingView(
            job_name=job_name,
            status=str(job["TrainingJobStatus"]),
            secondary_status=job.get("SecondaryStatus"),
            failure_reason=job.get("FailureReason"),
            billable_seconds=int(billable) if billable is not None else None,
        )

    def stop(self, job_name: str) -> None:
        self._sagemaker.stop_training_job(TrainingJobName=job_name)
